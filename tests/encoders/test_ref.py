"""dnemkit.encoders.ref.EncoderRef: one name for an encoder (spec or object, mouse, models)."""

import pickle

import pytest

from dnemkit.encoders import Ensemble, SyntheticMouse, members_of
from dnemkit.encoders.ref import EncoderRef, fingerprint_encoder
from dnemkit.errors import DnemkitError


def test_a_spec_is_loaded_once_and_pickles_without_its_weights():
    ref = EncoderRef("synthetic:3")
    assert ref.full is ref.full and ref.encoder is ref.full  # loaded once; all models
    assert ref.name == "synthetic:3" and ref.mask_key == "synthetic:3" and ref.has_spec
    clone = pickle.loads(pickle.dumps(ref))
    assert clone == ref and "full" not in clone.__dict__  # a Dask task gets the spec, not the weights
    assert len(pickle.dumps(ref)) < 500
    assert clone.fingerprint == ref.fingerprint == fingerprint_encoder(SyntheticMouse(3))


def test_models_select_members_and_share_the_loaded_encoder():
    members = [SyntheticMouse(0), SyntheticMouse(1), SyntheticMouse(2)]
    ref = EncoderRef(Ensemble(members))
    two = ref.with_models(2)
    assert two.full is ref.full and members_of(two.encoder) == members[:2]
    assert EncoderRef(ref.full, models=1).encoder is members[0]
    # an object is cached under a digest of its weights: the same weights give the same key
    assert ref.mask_key == EncoderRef(Ensemble([SyntheticMouse(0), SyntheticMouse(1), SyntheticMouse(2)])).mask_key
    assert ref.mask_key != EncoderRef(Ensemble([SyntheticMouse(0), SyntheticMouse(1)])).mask_key
    assert EncoderRef.of(two) is two


@pytest.mark.parametrize("kwargs, message", [
    (dict(spec=3), "expected a spec string or an Encoder"),
    (dict(spec="synthetic", mouse=-1), "mouse is -1"),
    (dict(spec="synthetic", models=0), "models is 0"),
    (dict(spec="synthetic", models=True), "models is True"),
])
def test_bad_names_are_one_clear_error(kwargs, message):
    with pytest.raises(DnemkitError, match=message):
        EncoderRef(**kwargs)


def test_more_models_than_the_ensemble_has_is_an_error_on_use():
    with pytest.raises(DnemkitError, match="expected an integer from 1 to 1"):
        EncoderRef("synthetic", models=2).encoder
