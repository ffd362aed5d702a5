from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from core.api_params import epoch_text, utc_text

moments = st.integers(min_value=0, max_value=int(datetime(9999, 12, 31, tzinfo=UTC).timestamp()))


@given(moments)
def test_epoch_seconds_read_as_the_utc_text_of_their_datetime(moment):
    assert epoch_text(moment) == utc_text(datetime.fromtimestamp(moment, UTC))


def test_a_known_moment():
    assert epoch_text(1_803_893_400) == "2027-03-01T09:30:00Z" == utc_text(datetime(2027, 3, 1, 9, 30, tzinfo=UTC))
