"""schemathesis against a broker process, from the broker's OpenAPI document: for every operation, a bounded
number of requests that the document describes, each answer checked against the document (no 5xx, a
documented status code, content type, headers and body). The document is the one the broker serves
(test_openapi.py checks that they are the same), built here so that pytest can list one test per operation.

On SQLite only: the document and the answers do not depend on the store.
"""

from __future__ import annotations

import hypothesis
import schemathesis
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from broker.app import api_routes
from broker.openapi import document
from tests.conftest import API, BrokerProcess

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]

CONFIG = schemathesis.Config.from_dict({"phases": {"coverage": {"enabled": False}}, "generation": {"mode": "all"}})

schema = schemathesis.openapi.from_dict(document(api_routes()), config=CONFIG)


@schema.parametrize()
@hypothesis.settings(max_examples=12, derandomize=True, deadline=None, database=None,
                     suppress_health_check=list(hypothesis.HealthCheck))
def test_the_broker_answers_as_its_document_says(case: schemathesis.Case, fuzzed_broker: BrokerProcess) -> None:
    case.call_and_validate(base_url=fuzzed_broker.url + API, checks=CHECKS)
