"""Start-up guards: each incompatible flag is named with its fix."""
import pytest

from swift_tars.grpo.guards import TarsSetupError, check_training_setup, group_layout_problems, training_setup_problems

OK = dict(num_generations=8, per_device_train_batch_size=4, steps_per_generation=2)


def test_valid_setup_passes():
    check_training_setup(**OK)
    check_training_setup(**OK, do_eval=True, num_generations_eval=2, per_device_eval_batch_size=2,
                         scale_rewards='group')


@pytest.mark.parametrize('change, flag', [
    (dict(num_generations=7, per_device_train_batch_size=7, steps_per_generation=1), '--num_generations 7'),
    (dict(per_device_train_batch_size=2, steps_per_generation=1), 'a group would straddle ranks'),
    (dict(per_device_train_batch_size=3, steps_per_generation=8, num_generations=8), '--per_device_train_batch_size 3'),
    (dict(do_eval=True, num_generations_eval=3, per_device_eval_batch_size=3), '--num_generations_eval 3'),
    (dict(do_eval=True, num_generations_eval=4, per_device_eval_batch_size=6), '--per_device_eval_batch_size 6'),
    (dict(dynamic_sample=True), '--dynamic_sample false'),
    (dict(padding_free=True), '--padding_free false'),
    (dict(sequence_parallel_size=2), '--sequence_parallel_size 2'),
    (dict(truncation_strategy='raise'), '--truncation_strategy left'),
    (dict(async_generate=True), '--async_generate true'),
    (dict(multi_turn_scheduler='thinking_tips'), '--multi_turn_scheduler'),
    (dict(advantage_estimator='rloo'), '--advantage_estimator rloo'),
    (dict(scale_rewards='batch'), '--scale_rewards batch'),
    (dict(kl_in_reward=True), '--kl_in_reward true'),
    (dict(has_teacher=True), 'teacher'),
])
def test_each_guard(change, flag):
    with pytest.raises(TarsSetupError) as e:
        check_training_setup(**{**OK, **change})
    assert flag in str(e.value)


def test_all_problems_are_listed_at_once():
    with pytest.raises(TarsSetupError) as e:
        check_training_setup(**OK, dynamic_sample=True, padding_free=True)
    assert str(e.value).count('\n  - ') == 2


def test_problems_are_a_list_and_the_message_lists_them():
    """One home for the rules: the error carries the list `swift-tars check-args` reports, and its text is the
    heading plus one `  - ` line per problem."""
    assert training_setup_problems(**OK) == []
    problems = training_setup_problems(**OK, dynamic_sample=True, padding_free=True)
    assert len(problems) == 2 and '--dynamic_sample false' in problems[0] and '--padding_free false' in problems[1]
    with pytest.raises(TarsSetupError) as e:
        check_training_setup(**OK, dynamic_sample=True, padding_free=True)
    assert e.value.problems == problems
    assert str(e.value) == 'swift-tars cannot train with these arguments:\n  - ' + '\n  - '.join(problems)


def test_a_single_message_error_is_its_own_problem():
    error = TarsSetupError('TARS_DISTILL_COEF > 0 needs the plain GRPO loss path')
    assert error.problems == [str(error)]


def test_speech_only_layout_refuses_terms_that_need_text_rollouts():
    assert group_layout_problems('paired', ['TarsBehavior']) == []
    assert group_layout_problems('speech', []) == []
    [problem] = group_layout_problems('speech', ['tars_behavior', 'TARS_DISTILL_COEF > 0'])
    assert 'TARS_GROUP_LAYOUT=speech' in problem and 'tars_behavior, TARS_DISTILL_COEF > 0' in problem
    with pytest.raises(TarsSetupError, match='TARS_GROUP_LAYOUT=speech'):
        check_training_setup(num_generations=4, per_device_train_batch_size=4, steps_per_generation=1,
                             group_layout='speech', text_terms=['TarsRepresentation'])
