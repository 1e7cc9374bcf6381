"""The CORD teacher view: text prompt, no audio, identical completion tokens (ms-swift's own encoding)."""
import torch

from swift_tars.grpo.pairing import pair_rows
from swift_tars.grpo.teacher import collate_teacher, text_teacher_sample


def test_teacher_sees_text_and_no_audio(tiny_omni, demo_rows):
    from swift.model import get_model_processor
    from swift.rl_core.data import GRPOSample
    from swift.rlhf_trainers.utils import encode_sample
    from swift.template import get_template

    _, processor = get_model_processor(str(tiny_omni), model_type='qwen2_5_omni', torch_dtype=torch.float32,
                                       load_model=False)
    template = get_template(processor)
    template.set_mode('train')
    completion = '<think>which means dog</think><answer>The answer is B.</answer>'
    ids = processor.tokenizer.encode(completion, add_special_tokens=False)
    samples = []
    for row in pair_rows([demo_rows[0]] * 2, 2):
        s = GRPOSample.from_row(row)
        s.messages.append({'role': 'assistant', 'content': completion})
        s.response_token_ids = ids
        samples.append(s)
    teacher = text_teacher_sample(samples[0])
    assert teacher.audios == [] and samples[0].audios == demo_rows[0]['audios']  # the student keeps its audio
    assert teacher.messages[1]['content'] == demo_rows[0]['text_query']
    assert teacher.messages[-1]['content'] == completion

    rows, inputs, batch = collate_teacher(samples, template, torch.device('cpu'))
    assert rows == [0]  # only the speech rollout is distilled
    audio_id = processor.tokenizer.convert_tokens_to_ids('<|AUDIO|>')
    teacher_ids = inputs['input_ids'][0].tolist()
    assert audio_id not in teacher_ids and 'input_features' not in inputs
    text_ids = processor.tokenizer.encode(demo_rows[0]['text_query'], add_special_tokens=False)
    assert any(teacher_ids[i:i + len(text_ids)] == text_ids for i in range(len(teacher_ids)))
    student = encode_sample(samples[0], template)
    assert audio_id in student['input_ids']
    # the same completion tokens end both sequences (teacher-forced on the speech rollout's completion)
    n = int(batch.completion_mask[0].sum())
    assert teacher_ids[-n:] == student['input_ids'][-n:]
