"""The manifest of optional features (hooks/post_gen_project.py) against the questions and
the bake matrix: every feature is baked both on and off, every choice at least once."""

from __future__ import annotations

import pytest

from hooks import pre_gen_project
from hooks.post_gen_project import FEATURES, whole_word
from tests.helpers import MATRIX, answers_of, template_choices

CHOICES = template_choices()


@pytest.mark.parametrize("name", FEATURES)
def test_every_feature_is_baked_on_and_off(name: str) -> None:
    states = {FEATURES[name].is_on(answers_of(overrides)) for overrides in MATRIX}
    assert states == {True, False}


@pytest.mark.parametrize("question", CHOICES)
def test_every_choice_is_baked(question: str) -> None:
    baked = {answers_of(overrides)[question] for overrides in MATRIX}
    assert baked == set(CHOICES[question])


def test_every_feature_names_a_question_and_its_choices() -> None:
    for feature in FEATURES.values():
        assert set(feature.on_when) <= set(CHOICES[feature.option])


def test_the_hooks_default_kafka_image_is_the_templates() -> None:
    assert CHOICES["kafka_image"][0] == pre_gen_project.DEFAULT_KAFKA_IMAGE


@pytest.mark.parametrize(
    ("word", "text", "found"),
    [
        ("kafka", "KAFKA_BOOTSTRAP_SERVERS=x", True),
        ("kafka", "tests/support/services/kafka.py", True),
        ("kafka", '"aiokafka>=0.12"', False),
        ("s3", "S3_BUCKET", True),
        ("s3", "s3cret", False),
    ],
)
def test_traces_are_whole_words(word: str, text: str, found: bool) -> None:
    assert bool(whole_word(word).search(text)) == found
