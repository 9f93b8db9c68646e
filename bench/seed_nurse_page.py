"""Seeds the nurse page through the API of a demo clinic (`seed-demo`): 25
patients registered by the demo doctor and assigned to the demo nurse, 20
observations each. Prints the nurse's access token."""
import json
import sys
import urllib.request

URL = sys.argv[1]


def call(query, variables=None, token=None):
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    request = urllib.request.Request(URL, data=body, headers={"Content-Type": "application/json"})
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request) as response:
        reply = json.load(response)
    if reply.get("errors"):
        raise SystemExit(f"seeding failed: {reply['errors']}")
    return reply["data"]


def login(email, password):
    query = "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken user { id } } }"
    data = call(query, {"e": email, "p": password})["login"]
    return data["accessToken"], data["user"]["id"]


doctor, _ = login("amara.okafor@demo.caregraph.test", "demo doctor password 2026")
nurse, nurse_id = login("nina.patel@demo.caregraph.test", "demo nurse password 2026")
existing = call("{ patients(first: 100) { nodes { id } } }", token=nurse)["patients"]["nodes"]
for n in range(25 - len(existing)):
    patient = call(
        "mutation($i: CreatePatientInput!) { createPatient(input: $i) { id } }",
        {"i": {"givenName": f"Bench{n}", "familyName": f"Patient{n:02d}", "dateOfBirth": "1970-01-01", "sex": "FEMALE"}},
        doctor,
    )["createPatient"]["id"]
    call("mutation($p: ID!, $n: ID!) { assignPatient(patientId: $p, nurseId: $n) { id } }", {"p": patient, "n": nurse_id}, doctor)
for node in call("{ patients(first: 100) { nodes { id observations { id } } } }", token=nurse)["patients"]["nodes"]:
    for k in range(20 - len(node["observations"])):
        call(
            "mutation($p: ID!, $i: RecordObservationInput!) { recordObservation(patientId: $p, input: $i) { id } }",
            {"p": node["id"], "i": {"kind": "HEART_RATE", "value": 60 + k}},
            nurse,
        )
print(nurse)
