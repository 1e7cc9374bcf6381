"""The answer judges without a model: xFinder's format, label reading, batching and memory, the OpenAI-compatible
``/completions`` path, eval-side judging and resuming on hand-made records, and ``TARS_ACCURACY_JUDGE`` in the
accuracy reward (one judge call per step)."""
import json

import pytest

from swift_tars.judging import xfinder
from swift_tars.judging.judges import ChoiceJudge, OpenJudge
from swift_tars.judging.serving import JudgeError
from swift_tars.testing.endpoints import json_endpoint

OPTIONS = ['cat', 'dog', 'cow', 'fish']


def test_xfinder_prompt_is_its_training_format():
    prompt = xfinder.xfinder_prompt('Which animal barks?', 'The answer is B.', OPTIONS)
    assert prompt.startswith('<|System|>:You are a help assistant tasked with extracting the precise key answer')
    assert prompt.endswith('Answer range: [[\'A\', \'cat\'], [\'B\', \'dog\'], [\'C\', \'cow\'], [\'D\', \'fish\']]'
                           '\n\nKey extracted answer: \n<|Bot|>:')
    assert '\n<|User|>:I will provide you with a question' in prompt
    assert 'Question: """Which animal barks?"""\n\nOutput sentences: """The answer is B."""' in prompt


@pytest.mark.parametrize('label, letter', [
    ('B', 'B'), (' b. ', 'B'), ('D\nsome trailing text', 'D'), ('dog', 'B'), ('Fish.', 'D'),
    ('[No valid answer]', None), ('', None), ('E', None), ('B or C', None), ('the dog', None)])
def test_read_label_follows_xfinders_comparator(label, letter):
    assert xfinder.read_label(label, OPTIONS) == letter


def test_question_without_options_keeps_the_question_lines():
    text = 'Read this.\nWhich one?\nA. cat\nB. dog'
    assert xfinder.question_without_options(text) == 'Read this.\nWhich one?'


class FakeCompleter:
    """Replies the letter after "The answer is " in each prompt's output, else no valid answer; counts calls."""

    def __init__(self):
        self.calls, self.prompts = 0, []

    def __call__(self, prompts, max_tokens):
        self.calls += 1
        self.prompts += list(prompts)
        out = []
        for p in prompts:
            said = p.split('Output sentences: """')[1].split('"""')[0]
            out.append(said.split('The answer is ')[1][0] if 'The answer is ' in said else xfinder.NO_ANSWER)
        return out


def test_choice_judge_batches_and_remembers():
    fake = FakeCompleter()
    judge = ChoiceJudge('unused', completer_factory=lambda: fake)
    items = [('q', 'The answer is B.', OPTIONS), ('q', 'no idea', OPTIONS), ('q', 'The answer is B.', OPTIONS)]
    assert [r.letter for r in judge(items)] == ['B', None, 'B']
    assert fake.calls == 1 and len(fake.prompts) == 2  # one call, the repeated item asked once
    assert [r.letter for r in judge(items[:2])] == ['B', None] and fake.calls == 1  # remembered
    judge([('q', 'The answer is C.', OPTIONS)])
    assert fake.calls == 2


def test_open_judge_refuses_xfinder():
    with pytest.raises(JudgeError, match='free-form answers'):
        OpenJudge('xfinder')


def _xfinder_reply(body):
    """An OpenAI-style ``/completions`` reply as xFinder would give (via :class:`FakeCompleter`)."""
    return {'choices': [{'text': FakeCompleter()([body['prompt']], body['max_tokens'])[0], 'index': 0}]}


@pytest.fixture
def xfinder_endpoint():
    """(base URL, recorded requests) of a local xFinder-like endpoint."""
    with json_endpoint(_xfinder_reply) as served:
        yield served


def test_endpoint_choice_judge_sends_raw_prompts(xfinder_endpoint):
    url, requests = xfinder_endpoint
    judge = ChoiceJudge(url, 'xfinder-qwen1505')
    assert [r.letter for r in judge([('q', 'The answer is D.', OPTIONS), ('q', 'hmm', OPTIONS)])] == ['D', None]
    path, body = requests[0]
    assert path == '/v1/completions' and body['model'] == 'xfinder-qwen1505' and body['temperature'] == 0
    assert body['prompt'].startswith('<|System|>:') and '\n' in body['stop']


# --- TARS_ACCURACY_JUDGE in the reward ---------------------------------------------------------------------------

def test_accuracy_reward_reads_letters_with_the_judge_once_per_step(xfinder_endpoint, monkeypatch):
    from swift_tars.rewards import accuracy

    url, requests = xfinder_endpoint
    monkeypatch.setenv('TARS_ACCURACY_JUDGE', url)
    monkeypatch.setattr(accuracy, '_JUDGES', {})
    # the stub reads "The answer is X" anywhere in the output: also in the reasoning before an empty answer block,
    # which the extractor leaves unread in the rewards
    completions = ['<think>The answer is B.</think><answer></answer>', '<answer>The answer is A.</answer>',
                   'I would say dog']
    batch = {'solution': ['B', 'B', 'B'], 'options': [OPTIONS] * 3,
             'text_query': ['Which animal barks?\nA. cat\nB. dog\nC. cow\nD. fish'] * 3}
    assert accuracy.TarsAccuracy()(completions, **batch) == [1.0, 0.0, 0.0]
    assert accuracy.correctness(completions, batch) == [1.0, 0.0, 0.0]  # the trainer / behaviour reward asking again
    assert len(requests) == 3  # one request per distinct completion, none for the second ask
    assert 'Question: """Which animal barks?"""' in requests[0][1]['prompt']
    monkeypatch.delenv('TARS_ACCURACY_JUDGE')
    assert accuracy.correctness(completions, batch) == [0.0, 0.0, 0.0]  # the extractor: empty block, no keyword


def test_accuracy_judge_setting_is_checked(monkeypatch, tmp_path):
    from swift_tars.config import TarsConfig, TarsPathError

    with pytest.raises(TarsPathError, match='TARS_ACCURACY_JUDGE=.*no such model folder'):
        TarsConfig.from_env({'TARS_ACCURACY_JUDGE': str(tmp_path / 'none')})
    assert TarsConfig.from_env({}).accuracy_judge == ''
    assert TarsConfig.from_env({'TARS_ACCURACY_JUDGE': 'xfinder'}).accuracy_judge == 'xfinder'


# --- eval-side judging on hand-made records ------------------------------------------------------------------------

def _mcq_setup(tmp_path):
    from swift_tars.evaluation.eval_sets import EvalSet
    from swift_tars.evaluation.predictions import PredictionStore

    rows = [{'question_id': f'q{i}', 'text_query': 'Which animal barks?\nA. cat\nB. dog\nC. cow\nD. fish',
             'options': OPTIONS, 'solution': 'B'} for i in range(3)]
    said = {('q0', 'speech'): 'The answer is B.', ('q0', 'text'): 'The answer is B.',
            ('q1', 'speech'): 'The answer is C.', ('q1', 'text'): 'dog, so B',  # extractor: B; judge stub: none
            ('q2', 'speech'): 'no idea', ('q2', 'text'): 'The answer is B.'}
    extractor = {('q0', 'speech'): 'B', ('q0', 'text'): 'B', ('q1', 'speech'): 'C', ('q1', 'text'): 'B',
                 ('q2', 'speech'): None, ('q2', 'text'): 'B'}
    store = PredictionStore(tmp_path / 'predictions.jsonl')
    store.append({'set': 's', 'question_id': q, 'mode': m, 'completion': c, 'pred': extractor[(q, m)], 'gold': 'B',
                  'correct': extractor[(q, m)] == 'B', 'extraction_failed': extractor[(q, m)] is None} for (q, m), c in said.items())
    return [EvalSet('s', tmp_path / 's.jsonl', rows, None)], store


def test_eval_judging_hand_computed_and_resumed(tmp_path):
    from swift_tars.evaluation.judged import add_judge_summary, judge_records
    from swift_tars.evaluation.metrics import summarize
    from swift_tars.evaluation.runner import scored_records

    sets, store = _mcq_setup(tmp_path)
    fake = FakeCompleter()
    judge = ChoiceJudge('unused', completer_factory=lambda: fake)
    identity = {'judge': 'stub'}
    assert judge_records(sets, ['speech', 'text'], store, judge, identity, batch_size=4, progress=False) == \
        {'judged': 6, 'judged_before': 0}
    assert fake.calls == 2  # 6 answers in batches of 4
    records = scored_records(sets, ['speech', 'text'], store)
    summary = summarize(records)
    add_judge_summary(summary, records, identity)
    speech, text = summary['sets']['s']['judge']['speech'], summary['sets']['s']['judge']['text']
    # speech: judge B, C, None -> 1/3 right; extractor 1/3; letters differ nowhere
    assert speech['judge_accuracy'] == pytest.approx(100 / 3) and speech['extractor_accuracy'] == pytest.approx(100 / 3)
    assert speech['disagreement_rate'] == 0 and speech['judge_no_answer_rate'] == pytest.approx(100 / 3)
    # text: judge B, None, B -> 2/3; extractor 3/3; q1 differs (B vs None) in letter and in verdict
    assert text['judge_accuracy'] == pytest.approx(200 / 3) and text['extractor_accuracy'] == 100
    assert text['disagreement_rate'] == pytest.approx(100 / 3) == text['correctness_disagreement_rate']
    assert summary['sets']['s']['judge']['gap'] == pytest.approx(100 / 3)
    on_disk = [json.loads(line) for line in store.path.read_text().splitlines()]
    assert [r['judge_pred'] for r in on_disk] == ['B', 'B', 'C', None, None, 'B']

    # resumed: nothing asked again; an edited completion is asked again, alone
    assert judge_records(sets, ['speech', 'text'], store, judge, identity, progress=False)['judged'] == 0
    key = ('s', 'q2', 'speech')
    store.records[key] = {**store.records[key], 'completion': 'The answer is D.'}
    assert judge_records(sets, ['speech', 'text'], store, judge, identity, progress=False)['judged'] == 1
    assert store.records[key]['judge_pred'] == 'D' and store.records[key]['judge_correct'] is False
    # another judge identity: everything asked again
    assert judge_records(sets, ['speech', 'text'], store, judge, {'judge': 'other'}, progress=False)['judged'] == 6
    # a gold letter edited (re-scored by the eval's reconciliation): judge_correct follows without asking
    for k in list(store.records):
        store.records[k] = {**store.records[k], 'gold': 'C'}
    assert judge_records(sets, ['speech', 'text'], store, judge, {'judge': 'other'}, progress=False)['judged'] == 0
    assert [store.records[k]['judge_correct'] for k in store.records] == [False, False, True, False, False, False]
