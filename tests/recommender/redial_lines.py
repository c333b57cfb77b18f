"""Recorded dialogues in ReDial's format, small enough to write in a test."""
from __future__ import annotations

import json


def redial_line(cid: int, seeker_named: int, suggested: int) -> str:
    """Return one ReDial line: the seeker likes film `seeker_named`, the recommender suggests film `suggested`."""
    return json.dumps({"conversationId": cid, "initiatorWorkerId": 1, "respondentWorkerId": 2,
                       "messages": [{"senderWorkerId": 1, "text": f"I like @{seeker_named}"},
                                    {"senderWorkerId": 2, "text": f"You should see @{suggested}"}],
                       "movieMentions": {str(seeker_named): f"Film {seeker_named} ({1990 + seeker_named})",
                                         str(suggested): f"Film {suggested} ({1990 + suggested})"}})
