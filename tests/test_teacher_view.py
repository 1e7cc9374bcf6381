"""The CORD teacher view of Qwen2.5-Omni: the teacher sample has the text prompt and no audio; through ms-swift's
own encoding, the teacher sequence holds the text and no audio token and ends in the same completion tokens as the
student's (the shared family check)."""
from family_checks import teacher_view

from swift_tars.grpo.pairing import pair_rows
from swift_tars.grpo.teacher import text_teacher_sample


def test_teacher_sample_is_the_text_view(demo_rows):
    from swift.rl_core.data import GRPOSample

    completion = '<think>which means dog</think><answer>The answer is B.</answer>'
    sample = GRPOSample.from_row(pair_rows([demo_rows[0]] * 2, 2)[0])
    sample.messages.append({'role': 'assistant', 'content': completion})
    teacher = text_teacher_sample(sample)
    assert teacher.audios == [] and sample.audios == demo_rows[0]['audios']  # the student keeps its audio
    assert teacher.messages[1]['content'] == demo_rows[0]['text_query']
    assert teacher.messages[-1]['content'] == completion


def test_teacher_sees_text_and_no_audio(tiny_omni, demo_rows):
    teacher_view(tiny_omni, 'qwen2_5_omni', demo_rows)
