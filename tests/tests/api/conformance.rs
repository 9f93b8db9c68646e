//! The access matrix is a contract: `docs/access-matrix.md` is what the
//! policy file says, and the running server does exactly that, cell by cell,
//! for every role, both what is granted and what is denied.

use std::collections::{BTreeMap, BTreeSet};

use caregraph::policy::{Action, FieldClass, Policy, Role, Scope, matrix};
use caregraph_entity::{
    account_enrolment, allergy, audit_event, break_glass_grant, care_assignment, clinical_note, coverage,
    department, diagnosis, invoice, medication, observation, patient, research_release, user,
};
use caregraph_tests::{Reply, Session, TestApp, full_patient, on_both_databases};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder,
};
use serde_json::{Value, json};
use uuid::Uuid;

#[test]
fn the_committed_access_matrix_is_generated_from_the_policy() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/access-matrix.md");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == matrix::render(&Policy::built_in()),
        "docs/access-matrix.md is stale: run `cargo run -- policy matrix` and commit it"
    );
}

#[test]
fn every_class_is_granted_somewhere_and_every_field_is_classified() {
    let policy = Policy::built_in();
    for class in FieldClass::ALL {
        let mentioned = Role::ALL
            .iter()
            .any(|&r| Action::ALL.iter().any(|&a| policy.could_ever(r, a, class)));
        assert!(
            mentioned,
            "{} is in no grant: dead vocabulary or a forgotten rule",
            class.as_str()
        );
    }
    let fields = caregraph::graphql::patient_data_fields(&caregraph::graphql::build());
    assert!(policy.check_fields(&fields).is_ok());
}

/// The cells that some operation of the API exercises; every other cell
/// must be denied to every role, or the matrix would promise something the
/// API cannot do.
fn has_operation(action: Action, class: FieldClass) -> bool {
    match (action, class) {
        // myAccessLog (a patient's own) and the compliance console.
        (Action::Read, FieldClass::AccessLog | FieldClass::AuditTrail) => true,
        (_, FieldClass::AccessLog | FieldClass::AuditTrail) => false,
        (Action::Read, c) if c.is_patient_data() => c != FieldClass::PatientRecord,
        (Action::Write, c) if c.is_patient_data() => c != FieldClass::PatientRecord,
        (Action::Create | Action::Delete, FieldClass::PatientRecord) => true,
        (_, FieldClass::Accounts) => true,
        (Action::Create, FieldClass::PatientAccounts) => true,
        (Action::Read, FieldClass::StaffDirectory | FieldClass::Deidentified | FieldClass::AccessReview) => {
            true
        }
        (Action::Create, FieldClass::Deidentified) => true,
        (Action::Read | Action::Create | Action::Write, FieldClass::Departments) => true,
        (Action::Read | Action::Write, FieldClass::AccountApprovals) => true,
        (Action::Read | Action::Write, FieldClass::BreakGlassReview) => true,
        _ => false,
    }
}

#[test]
fn no_role_is_granted_a_cell_that_no_operation_exercises() {
    let policy = Policy::built_in();
    for role in Role::ALL {
        for class in FieldClass::ALL {
            for action in Action::ALL {
                if !has_operation(action, class) {
                    assert!(
                        !policy.could_ever(role, action, class),
                        "{role:?} is granted {action:?} {class:?}, which no operation exercises"
                    );
                }
            }
        }
    }
}

// --- The committed matrix, as the test reads it ------------------------------

/// `docs/access-matrix.md`, parsed: per (role, class, action) the scopes
/// that grant it (empty for `—`). This is what the server is held to; the
/// test never asks the policy code what it would decide.
struct Matrix(BTreeMap<(Role, FieldClass, Action), BTreeSet<Scope>>);

fn named<T: Copy + std::fmt::Debug>(all: &[T], name: &str, as_str: fn(T) -> &'static str) -> T {
    all.iter()
        .copied()
        .find(|t| as_str(*t) == name)
        .unwrap_or_else(|| panic!("docs/access-matrix.md names `{name}`, which the server does not know"))
}

impl Matrix {
    fn committed() -> Matrix {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/access-matrix.md");
        let text = std::fs::read_to_string(path).expect("docs/access-matrix.md is readable");
        let (mut cells, mut role, mut actions) = (BTreeMap::new(), None, Vec::new());
        for line in text.lines() {
            if let Some(name) = line.strip_prefix("## ") {
                role = Some(named(&Role::ALL, name.trim(), Role::as_str));
                continue;
            }
            let Some(row) = line.trim().strip_prefix('|').and_then(|l| l.strip_suffix('|')) else {
                continue;
            };
            let row: Vec<&str> = row.split('|').map(str::trim).collect();
            if row[0] == "class" {
                actions = row[1..]
                    .iter()
                    .map(|a| named(&Action::ALL, a, Action::as_str))
                    .collect();
                continue;
            }
            if row[0].starts_with("---") {
                continue;
            }
            let role = role.expect("a table row before the first role heading");
            let class = named(&FieldClass::ALL, row[0], FieldClass::as_str);
            assert_eq!(
                row.len() - 1,
                actions.len(),
                "a row of {role:?} has the wrong number of cells"
            );
            for (action, cell) in actions.iter().zip(&row[1..]) {
                let scopes: BTreeSet<Scope> = match *cell {
                    "—" => BTreeSet::new(),
                    cell => cell
                        .split(',')
                        .map(|s| named(&Scope::ALL, s.trim(), Scope::as_str))
                        .collect(),
                };
                let previous = cells.insert((role, class, *action), scopes);
                assert!(
                    previous.is_none(),
                    "{role:?} {class:?} {action:?} appears twice in the matrix"
                );
            }
        }
        for role in Role::ALL {
            for class in FieldClass::ALL {
                for action in Action::ALL {
                    assert!(
                        cells.contains_key(&(role, class, action)),
                        "the matrix has no cell for {role:?} {action:?} {class:?}"
                    );
                }
            }
        }
        Matrix(cells)
    }

    fn scopes(&self, role: Role, action: Action, class: FieldClass) -> &BTreeSet<Scope> {
        &self.0[&(role, class, action)]
    }

    /// Whether some scope of the cell holds among `holding`.
    fn grants(&self, role: Role, action: Action, class: FieldClass, holding: &[Scope]) -> bool {
        holding
            .iter()
            .any(|s| self.scopes(role, action, class).contains(s))
    }

    /// Emergency access only reads: no cell grants anything but READ under
    /// BREAK_GLASS, and whoever may break glass can find the patient opened
    /// (DIRECTORY) and never reaches notes or billing that way.
    fn break_glass_only_reads(&self) {
        for ((role, class, action), scopes) in &self.0 {
            if scopes.contains(&Scope::BreakGlass) {
                assert_eq!(
                    *action,
                    Action::Read,
                    "the matrix grants {role:?} {action:?} {class:?} under BREAK_GLASS"
                );
                assert!(
                    self.scopes(*role, Action::Read, FieldClass::Directory)
                        .contains(&Scope::BreakGlass),
                    "{role:?} reads {class:?} under BREAK_GLASS but could not find the patient"
                );
                assert!(
                    !matches!(
                        class,
                        FieldClass::Notes | FieldClass::SensitiveNotes | FieldClass::Billing
                    ),
                    "{role:?} reads {class:?} under BREAK_GLASS"
                );
            }
        }
    }

    /// Sensitive notes are read through `notes`: a grant of them without
    /// NOTES could never be observed.
    fn sensitive_notes_come_with_notes(&self) {
        for role in Role::ALL {
            for scope in self.scopes(role, Action::Read, FieldClass::SensitiveNotes) {
                assert!(
                    self.scopes(role, Action::Read, FieldClass::Notes).contains(scope),
                    "{role:?} may read SENSITIVE_NOTES under {scope:?} but not NOTES"
                );
            }
        }
    }
}

// --- Relationships between a caller and a patient ---------------------------

/// How a caller stands to a patient, each made through the API.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Relationship {
    /// A patient the caller has nothing to do with.
    Stranger,
    /// The caller registered the patient.
    Registered,
    /// An active ATTENDING assignment; someone else registered the patient.
    Attending,
    /// An active NURSE assignment.
    Assigned,
    /// The caller's own record (a PATIENT account).
    OwnRecord,
    /// An assignment whose window lies in the past.
    ExpiredAssignment,
    /// An assignment ended with `revokeAssignment`.
    RevokedAssignment,
    /// A restricted patient, reached only through ANY (the doctor also
    /// registered it, which does not count either).
    Restricted,
    /// No patient at all: the clinic-wide classes.
    Clinic,
    /// A stranger the caller opened with `breakGlass` (an active grant).
    BrokenGlass,
}

use Relationship::*;

impl Relationship {
    /// The scopes of the matrix that hold in this relationship.
    fn scopes(self) -> &'static [Scope] {
        match self {
            Stranger | ExpiredAssignment | RevokedAssignment | Clinic => &[Scope::Any],
            Registered | Attending => &[Scope::Any, Scope::Treating],
            Assigned => &[Scope::Any, Scope::Assigned],
            OwnRecord => &[Scope::Any, Scope::OwnRecord],
            Restricted => &[],
            BrokenGlass => &[Scope::Any, Scope::BreakGlass],
        }
    }

    /// The scope whose cells this relationship puts to the test.
    fn exercises(self) -> Option<Scope> {
        match self {
            Stranger | Clinic => Some(Scope::Any),
            Registered | Attending => Some(Scope::Treating),
            Assigned => Some(Scope::Assigned),
            OwnRecord => Some(Scope::OwnRecord),
            BrokenGlass => Some(Scope::BreakGlass),
            ExpiredAssignment | RevokedAssignment | Restricted => None,
        }
    }
}

/// Where a cell of the matrix is exercised.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// On one patient, once per relationship the role can have.
    OnPatient,
    /// Once per role, with no patient (scope ANY only).
    ClinicWide,
    /// No operation of the API does this: the matrix must grant it to nobody.
    NoOperation,
}

/// Every (action, class) says where it is exercised. The match is exhaustive
/// over the classes: a new class does not compile until it has probes.
fn kind(action: Action, class: FieldClass) -> Kind {
    use Action::*;
    use FieldClass as C;
    use Kind::*;
    match class {
        C::Directory
        | C::Demographics
        | C::Contact
        | C::Identifiers
        | C::Vitals
        | C::Clinical
        | C::Notes
        | C::SensitiveNotes
        | C::Billing
        | C::CareTeam
        | C::Restriction => match action {
            Read | Write => OnPatient,
            Create | Delete => NoOperation,
        },
        C::PatientRecord => match action {
            Read | Write => NoOperation,
            Create => ClinicWide,
            Delete => OnPatient,
        },
        C::Accounts => ClinicWide,
        C::PatientAccounts => {
            if action == Create {
                ClinicWide
            } else {
                NoOperation
            }
        }
        C::StaffDirectory | C::AccessReview => {
            if action == Read {
                ClinicWide
            } else {
                NoOperation
            }
        }
        C::Departments => {
            if action == Delete {
                NoOperation
            } else {
                ClinicWide
            }
        }
        C::Deidentified => {
            if matches!(action, Read | Create) {
                ClinicWide
            } else {
                NoOperation
            }
        }
        C::AccountApprovals | C::BreakGlassReview => {
            if matches!(action, Read | Write) {
                ClinicWide
            } else {
                NoOperation
            }
        }
        // myAccessLog: the caller's own record, in whatever relationship.
        C::AccessLog => {
            if action == Read {
                OnPatient
            } else {
                NoOperation
            }
        }
        C::AuditTrail => {
            if action == Read {
                ClinicWide
            } else {
                NoOperation
            }
        }
    }
}

/// The fields of `Patient` each read probe selects, with their class.
const FIELDS: &[(&str, FieldClass)] = &[
    ("mrn", FieldClass::Directory),
    ("givenName", FieldClass::Directory),
    ("familyName", FieldClass::Directory),
    ("departmentId", FieldClass::Directory),
    ("dateOfBirth", FieldClass::Demographics),
    ("sex", FieldClass::Demographics),
    ("phone", FieldClass::Contact),
    ("address", FieldClass::Contact),
    ("postalCode", FieldClass::Contact),
    ("email", FieldClass::Contact),
    ("nationalId", FieldClass::Identifiers),
    ("observations", FieldClass::Vitals),
    ("diagnoses", FieldClass::Clinical),
    ("medications", FieldClass::Clinical),
    ("allergies", FieldClass::Clinical),
    ("notes", FieldClass::Notes),
    ("coverage", FieldClass::Billing),
    ("invoices", FieldClass::Billing),
    ("assignedNurses", FieldClass::CareTeam),
    ("restricted", FieldClass::Restriction),
];

fn field_class(field: &str) -> FieldClass {
    FIELDS
        .iter()
        .find(|(f, _)| *f == field)
        .expect("a probed field")
        .1
}

/// The fields that read a class. Sensitive notes have no field of their
/// own: they appear in `notes`, or not.
fn fields_of(class: FieldClass) -> Vec<&'static str> {
    if class == FieldClass::SensitiveNotes {
        return vec!["notes"];
    }
    FIELDS
        .iter()
        .filter(|(_, c)| *c == class)
        .map(|(f, _)| *f)
        .collect()
}

const LISTS: &[&str] = &[
    "observations",
    "diagnoses",
    "medications",
    "allergies",
    "notes",
    "coverage",
    "invoices",
    "assignedNurses",
];

#[test]
fn the_read_probes_select_every_classified_field_of_a_patient() {
    let policy = Policy::built_in();
    let mut classified: Vec<(&str, FieldClass)> = policy
        .classified_fields("Patient")
        .filter(|(f, _)| *f != "id")
        .collect();
    let mut probed = FIELDS.to_vec();
    classified.sort();
    probed.sort();
    assert_eq!(
        probed, classified,
        "a field of Patient is not probed, or under another class"
    );
}

// --- What is stored ----------------------------------------------------------

/// Everything stored about one patient that a probe could change.
#[derive(Clone, Debug, PartialEq)]
struct Stored {
    patient: Option<patient::Model>,
    observations: Vec<observation::Model>,
    diagnoses: Vec<diagnosis::Model>,
    medications: Vec<medication::Model>,
    allergies: Vec<allergy::Model>,
    notes: Vec<clinical_note::Model>,
    coverage: Vec<coverage::Model>,
    invoices: Vec<invoice::Model>,
    assignments: Vec<care_assignment::Model>,
}

macro_rules! rows_of {
    ($db:expr, $entity:ident, $patient:expr) => {
        $entity::Entity::find()
            .filter($entity::Column::PatientId.eq($patient))
            .order_by_asc($entity::Column::Id)
            .all($db)
            .await
            .expect("the test reads the database")
    };
}

impl Stored {
    async fn read(app: &TestApp, patient_id: &str) -> Stored {
        let id = Uuid::parse_str(patient_id).expect("a patient id");
        let db = &app.db;
        Stored {
            patient: patient::Entity::find_by_id(id)
                .one(db)
                .await
                .expect("the test reads the database"),
            observations: rows_of!(db, observation, id),
            diagnoses: rows_of!(db, diagnosis, id),
            medications: rows_of!(db, medication, id),
            allergies: rows_of!(db, allergy, id),
            notes: rows_of!(db, clinical_note, id),
            coverage: rows_of!(db, coverage, id),
            invoices: rows_of!(db, invoice, id),
            assignments: rows_of!(db, care_assignment, id),
        }
    }

    fn row(&self) -> &patient::Model {
        self.patient.as_ref().expect("the patient is stored")
    }

    /// A field as the API should show it, for a caller to whom
    /// `shows_sensitive` says which sensitive notes appear.
    fn field(&self, field: &str, shows_sensitive: &dyn Fn(&clinical_note::Model) -> bool) -> Value {
        fn ids<T>(rows: impl IntoIterator<Item = T>, id: impl Fn(T) -> Uuid) -> Value {
            let mut ids: Vec<String> = rows.into_iter().map(|r| id(r).to_string()).collect();
            ids.sort();
            json!(ids)
        }
        let p = self.row();
        let now = chrono::Utc::now();
        match field {
            "mrn" => json!(p.mrn),
            "givenName" => json!(p.given_name),
            "familyName" => json!(p.family_name),
            "departmentId" => json!(p.department_id.map(|d| d.to_string())),
            "dateOfBirth" => json!(p.date_of_birth.to_string()),
            "sex" => json!(p.sex),
            "phone" => json!(p.phone),
            "address" => json!(p.address),
            "postalCode" => json!(p.postal_code),
            "email" => json!(p.email),
            "nationalId" => json!(p.national_id),
            "restricted" => json!(p.restricted),
            "observations" => ids(&self.observations, |r| r.id),
            "diagnoses" => ids(&self.diagnoses, |r| r.id),
            "medications" => ids(&self.medications, |r| r.id),
            "allergies" => ids(&self.allergies, |r| r.id),
            "notes" => ids(
                self.notes
                    .iter()
                    .filter(|n| n.sensitivity == "NORMAL" || shows_sensitive(n)),
                |r| r.id,
            ),
            "coverage" => ids(&self.coverage, |r| r.id),
            "invoices" => ids(&self.invoices, |r| r.id),
            "assignedNurses" => ids(
                self.assignments.iter().filter(|a| {
                    a.kind == "NURSE"
                        && a.starts_at <= now
                        && a.ends_at.is_none_or(|end| end > now)
                        && a.revoked_at.is_none()
                }),
                |r| r.staff_id,
            ),
            other => panic!("no stored value for {other}"),
        }
    }

    fn has_sensitive_notes(&self) -> bool {
        self.notes.iter().any(|n| n.sensitivity != "NORMAL")
    }

    /// After a probe that changed something: put the patient row back, so
    /// that every probe meets the clinic as it was built.
    async fn restore(&self, app: &TestApp) {
        if let Some(row) = &self.patient {
            patient::Entity::update(row.clone().into_active_model().reset_all())
                .exec(&app.db)
                .await
                .expect("the test restores the patient row");
        }
    }
}

/// The one new row `after` has that `before` lacks, with the id the API returned.
fn added<T: Clone + std::fmt::Debug>(
    before: &[T],
    after: &[T],
    id: impl Fn(&T) -> Uuid,
    returned: &Value,
) -> T {
    let returned = returned.as_str().expect("the mutation returns an id");
    let new: Vec<&T> = after
        .iter()
        .filter(|r| !before.iter().any(|b| id(b) == id(r)))
        .collect();
    assert_eq!(new.len(), 1, "expected exactly one new row, got {new:?}");
    assert_eq!(
        id(new[0]).to_string(),
        returned,
        "the new row is not the one returned"
    );
    new[0].clone()
}

/// A list field as returned, reduced to its sorted ids; scalars unchanged.
fn normalised(field: &str, value: &Value) -> Value {
    match value.as_array() {
        Some(items) if LISTS.contains(&field) => {
            let mut ids: Vec<String> = items
                .iter()
                .map(|i| i["id"].as_str().unwrap_or("?").to_owned())
                .collect();
            ids.sort();
            json!(ids)
        }
        _ => value.clone(),
    }
}

fn error_paths(reply: &Reply) -> Vec<(Value, String)> {
    let mut paths: Vec<(Value, String)> = reply
        .errors()
        .iter()
        .map(|e| {
            (
                e["path"].clone(),
                e["extensions"]["code"].as_str().unwrap_or("<none>").to_owned(),
            )
        })
        .collect();
    paths.sort_by_key(|(p, c)| format!("{p}{c}"));
    paths
}

// --- The clinic ----------------------------------------------------------------

/// One clinic per test: a caller of every role, and for each relationship
/// a role can have, a patient to which its caller stands so.
struct Clinic {
    callers: BTreeMap<Role, Session>,
    /// Registers and treats the patients of the other callers; never probed.
    colleague: Session,
    /// Assigned to every patient, so the care team has someone to show.
    spare_nurse: Session,
    /// The second administrator, who requests accounts for others to approve.
    approver: Session,
    ward: String,
    patients: BTreeMap<(Role, Relationship), String>,
    stranger: String,
    restricted: String,
}

impl Clinic {
    async fn open(app: &TestApp, matrix: &Matrix) -> Clinic {
        let mut callers = BTreeMap::new();
        callers.insert(Role::Admin, app.login_admin().await);
        for role in Role::ALL
            .into_iter()
            .filter(|r| !matches!(r, Role::Admin | Role::Patient))
        {
            callers.insert(
                role,
                app.user(role.as_str(), &format!("Probe {}", role.as_str())).await,
            );
        }
        let colleague = app.user("DOCTOR", "Colleague Doctor").await;
        let spare_nurse = app.user("NURSE", "Spare Nurse").await;
        let approver = app.login_approver().await;
        let ward = app
            .as_user(
                &callers[&Role::Admin],
                "mutation { createDepartment(name: \"Probe Ward\") { id } }",
                json!({}),
            )
            .await
            .ok()["createDepartment"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let mut clinic = Clinic {
            callers,
            colleague,
            spare_nurse,
            approver,
            ward,
            patients: BTreeMap::new(),
            stranger: String::new(),
            restricted: String::new(),
        };
        clinic.stranger = clinic.admit(app, Role::Admin, Stranger).await;
        clinic.restricted = clinic.admit(app, Role::Doctor, Restricted).await;
        let own = clinic.admit(app, Role::Patient, OwnRecord).await;
        let national_id = Stored::read(app, &own).await.row().national_id.clone().unwrap();
        clinic
            .callers
            .insert(Role::Patient, app.patient_account(&own, &national_id).await);
        clinic.patients.insert((Role::Patient, OwnRecord), own);
        for role in Role::ALL {
            for relationship in clinic.relationships_of(role, matrix) {
                if !matches!(relationship, Stranger | Restricted | OwnRecord) {
                    let patient = clinic.admit(app, role, relationship).await;
                    clinic.patients.insert((role, relationship), patient);
                }
            }
        }
        clinic
    }

    fn caller(&self, role: Role) -> &Session {
        &self.callers[&role]
    }

    /// The relationships a caller of this role can be put in through the API.
    fn relationships_of(&self, role: Role, matrix: &Matrix) -> Vec<Relationship> {
        let mut all = vec![Stranger, Restricted];
        if matrix.grants(role, Action::Create, FieldClass::PatientRecord, &[Scope::Any]) {
            all.push(Registered);
        }
        // assignCareTeam takes a doctor as ATTENDING and a nurse as NURSE.
        match role {
            Role::Doctor => all.extend([Attending, ExpiredAssignment, RevokedAssignment]),
            Role::Nurse => all.extend([Assigned, ExpiredAssignment, RevokedAssignment]),
            Role::Patient => all.push(OwnRecord),
            _ => {}
        }
        if matrix.grants(role, Action::Read, FieldClass::Directory, &[Scope::BreakGlass]) {
            all.push(BrokenGlass);
        }
        all
    }

    fn patient(&self, role: Role, relationship: Relationship) -> &str {
        match relationship {
            Stranger => &self.stranger,
            Restricted => &self.restricted,
            other => &self.patients[&(role, other)],
        }
    }

    /// A new patient to whom the caller of `role` stands in `relationship`,
    /// with a chart: a vital sign, a diagnosis, a note, a sensitive note, an
    /// invoice and a nurse.
    async fn admit(&self, app: &TestApp, role: Role, relationship: Relationship) -> String {
        let family = format!("{relationship:?}{}", role.as_str().replace('_', ""));
        let caller = self.callers.get(&role);
        let registrar = match relationship {
            Registered | Restricted => caller.expect("the caller registers"),
            OwnRecord | Stranger => &self.colleague,
            _ => &self.colleague,
        };
        let mut input = full_patient("Probe", &family);
        if role != Role::Doctor && matches!(relationship, Registered) {
            // Only doctors may give a national id when registering.
            input.as_object_mut().unwrap().remove("nationalId");
        }
        let patient = app
            .as_user(
                registrar,
                "mutation($i: CreatePatientInput!) { createPatient(input: $i) { id } }",
                json!({ "i": input }),
            )
            .await
            .ok()["createPatient"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let kind = if role == Role::Doctor {
            "ATTENDING"
        } else {
            "NURSE"
        };
        let (treating, attending) = match relationship {
            Registered | Restricted if role == Role::Doctor => (Some(registrar), Some(&self.colleague)),
            Registered => (None, None),
            _ => (Some(&self.colleague), None),
        };
        // A doctor's own patient gets a second doctor attending, so it can be
        // restricted, and so that a sensitive note by someone else is there.
        if let (Some(treating), Some(attending)) = (treating, attending) {
            app.assign_care_team(treating, &patient, attending, "ATTENDING", (None, None))
                .await;
        }
        if let Some(treating) = treating {
            self.chart(app, treating, &patient).await;
            if let Some(attending) = attending {
                self.write_note(app, attending, &patient, "SUBSTANCE_USE").await;
            }
        }
        app.as_user(self.caller(Role::Billing), "mutation($p: ID!) { issueInvoice(patientId: $p, input: { description: \"Admission\", amountCents: 100, currency: \"EUR\" }) { id } }", json!({ "p": patient }))
            .await
            .ok();
        let hours = |h: i64| Some((chrono::Utc::now() + chrono::Duration::hours(h)).to_rfc3339());
        match relationship {
            Attending | Assigned => {
                app.assign_care_team(&self.colleague, &patient, caller.unwrap(), kind, (None, None))
                    .await;
            }
            ExpiredAssignment => {
                app.assign_care_team(
                    &self.colleague,
                    &patient,
                    caller.unwrap(),
                    kind,
                    (hours(-10), hours(-2)),
                )
                .await;
            }
            RevokedAssignment => {
                let id = app
                    .assign_care_team(&self.colleague, &patient, caller.unwrap(), kind, (None, None))
                    .await;
                app.as_user(
                    &self.colleague,
                    "mutation($id: ID!) { revokeAssignment(id: $id) { revokedAt } }",
                    json!({ "id": id }),
                )
                .await
                .ok();
            }
            Restricted => {
                // Registering the patient stops counting at once: select only the id.
                app.as_user(
                    registrar,
                    "mutation($p: ID!) { updatePatient(id: $p, input: { restricted: true }) { id } }",
                    json!({ "p": patient }),
                )
                .await
                .ok();
                assert!(Stored::read(app, &patient).await.row().restricted);
            }
            BrokenGlass => {
                app.as_user(
                    caller.expect("the caller breaks glass"),
                    "mutation($p: ID!) { breakGlass(patientId: $p, reason: \"Collapsed in the corridor, chart needed now\") { id } }",
                    json!({ "p": patient }),
                )
                .await
                .ok();
            }
            _ => {}
        }
        patient
    }

    async fn write_note(&self, app: &TestApp, author: &Session, patient: &str, sensitivity: &str) {
        app.as_user(
            author,
            "mutation($p: ID!, $i: WriteNoteInput!) { writeNote(patientId: $p, input: $i) { id } }",
            json!({ "p": patient, "i": { "sensitivity": sensitivity, "body": format!("{sensitivity} note") } }),
        )
        .await
        .ok();
    }

    async fn chart(&self, app: &TestApp, doctor: &Session, patient: &str) {
        app.record_vital(doctor, patient, "HEART_RATE", 72.0).await.ok();
        app.as_user(doctor, "mutation($p: ID!) { recordDiagnosis(patientId: $p, input: { icd10Code: \"I10\", description: \"Hypertension\" }) { id } }", json!({ "p": patient }))
            .await
            .ok();
        self.write_note(app, doctor, patient, "NORMAL").await;
        self.write_note(app, doctor, patient, "PSYCHOTHERAPY").await;
        app.assign(doctor, patient, &self.spare_nurse).await;
    }
}

// --- Probes ---------------------------------------------------------------------

/// The cells exercised so far: (role, relationship, class, action).
#[derive(Default)]
struct Record(BTreeSet<(Role, Relationship, FieldClass, Action)>);

/// One caller, standing in one relationship to one patient.
struct Visit<'a> {
    app: &'a TestApp,
    matrix: &'a Matrix,
    clinic: &'a Clinic,
    role: Role,
    caller: &'a Session,
    relationship: Relationship,
    patient: &'a str,
}

fn random_id() -> String {
    Uuid::new_v4().to_string()
}

impl Visit<'_> {
    fn may(&self, action: Action, class: FieldClass) -> bool {
        self.matrix
            .grants(self.role, action, class, self.relationship.scopes())
    }

    /// Whether the caller sees the patient at all: some class of it is readable.
    fn sees_the_patient(&self) -> bool {
        FieldClass::ALL
            .into_iter()
            .any(|c| c.is_patient_data() && self.may(Action::Read, c))
    }

    fn what(&self, action: Action, class: FieldClass) -> String {
        format!(
            "{:?} {} {} of a patient ({:?})",
            self.role,
            action.as_str(),
            class.as_str(),
            self.relationship
        )
    }

    async fn ask(&self, query: &str, variables: Value) -> Reply {
        self.app.as_user(self.caller, query, variables).await
    }

    /// A patient the caller may not see: the same answer, byte for byte, as
    /// for an id that does not exist.
    async fn answers_as_for_an_unknown_patient(
        &self,
        reply: &Reply,
        query: &str,
        with_patient: impl Fn(&str) -> Value,
        what: &str,
    ) {
        let unknown = self.ask(query, with_patient(&random_id())).await;
        assert_eq!(
            reply.text, unknown.text,
            "{what}: the answer differs from the one for an unknown id"
        );
        assert_eq!(reply.body, unknown.body, "{what}");
        let codes = reply.codes();
        assert!(
            codes == ["NOT_FOUND"] || codes == ["FORBIDDEN"],
            "{what}: expected NOT_FOUND (or FORBIDDEN for every id), got {}",
            reply.text
        );
    }

    async fn reads(&self, class: FieldClass) {
        let what = self.what(Action::Read, class);
        let fields = fields_of(class);
        let selection: Vec<String> = fields
            .iter()
            .map(|f| {
                if LISTS.contains(f) {
                    format!("{f} {{ id }}")
                } else {
                    (*f).to_owned()
                }
            })
            .collect();
        let query = format!(
            "query($p: ID!) {{ patient(id: $p) {{ id {} }} }}",
            selection.join(" ")
        );
        let with_patient = |p: &str| json!({ "p": p });
        let stored = Stored::read(self.app, self.patient).await;
        let reply = self.ask(&query, with_patient(self.patient)).await;
        if !self.sees_the_patient() {
            assert_eq!(reply.data()["patient"], Value::Null, "{what}: {}", reply.text);
            return self
                .answers_as_for_an_unknown_patient(&reply, &query, with_patient, &what)
                .await;
        }
        // Where `notes` is readable, whether sensitive ones appear is the test.
        if class == FieldClass::SensitiveNotes && self.may(Action::Read, FieldClass::Notes) {
            assert!(
                stored.has_sensitive_notes(),
                "{what}: the patient has no sensitive note to show or hide"
            );
        }
        // Sensitive notes reach only their author and the attending doctor.
        let shows_sensitive = |n: &clinical_note::Model| {
            self.may(Action::Read, FieldClass::SensitiveNotes)
                && (n.author_id.to_string() == self.caller.id || self.relationship == Attending)
        };
        let data = &reply.data()["patient"];
        assert_eq!(data["id"], self.patient, "{what}: {}", reply.text);
        let mut denied = Vec::new();
        for field in &fields {
            if self.may(Action::Read, field_class(field)) {
                let expected = stored.field(field, &shows_sensitive);
                assert_eq!(
                    normalised(field, &data[field]),
                    expected,
                    "{what}: {field} is not what is stored"
                );
            } else {
                assert_eq!(data[field], Value::Null, "{what}: {field} leaked: {}", reply.text);
                denied.push((json!(["patient", field]), "FORBIDDEN".to_owned()));
            }
        }
        denied.sort_by_key(|(p, c)| format!("{p}{c}"));
        assert_eq!(
            error_paths(&reply),
            denied,
            "{what}: wrong errors: {}",
            reply.text
        );
    }

    /// Runs a write and checks its outcome against what is stored before and
    /// after. `change` turns the row set before into the one expected after
    /// an allowed write (given the rows after and the mutation's data).
    async fn writes(
        &self,
        action: Action,
        class: FieldClass,
        query: &str,
        with_patient: impl Fn(&str) -> Value,
        change: impl FnOnce(&mut Stored, &Stored, &Value),
    ) {
        let what = self.what(action, class);
        let before = Stored::read(self.app, self.patient).await;
        let reply = self.ask(query, with_patient(self.patient)).await;
        let after = Stored::read(self.app, self.patient).await;
        if self.may(action, class) {
            assert!(
                reply.body.get("errors").is_none(),
                "{what} should be allowed: {}",
                reply.text
            );
            let mut expected = before.clone();
            change(&mut expected, &after, reply.data());
            assert_eq!(
                after, expected,
                "{what}: the stored rows are not what the write should make"
            );
            if after.patient.is_some() {
                before.restore(self.app).await;
            }
        } else {
            assert_eq!(
                after, before,
                "{what} was refused but changed the stored rows: {}",
                reply.text
            );
            assert_eq!(reply.data(), &Value::Null, "{what}: {}", reply.text);
            if self.sees_the_patient() {
                assert_eq!(
                    reply.codes(),
                    ["FORBIDDEN"],
                    "{what} should be FORBIDDEN: {}",
                    reply.text
                );
            } else {
                self.answers_as_for_an_unknown_patient(&reply, query, with_patient, &what)
                    .await;
            }
        }
    }

    async fn updates(&self, class: FieldClass, field: &'static str, value: Value) {
        let query = "mutation($p: ID!, $i: UpdatePatientInput!) { updatePatient(id: $p, input: $i) { id } }";
        let input = json!({ field: value });
        self.writes(
            Action::Write,
            class,
            query,
            |p| json!({ "p": p, "i": input }),
            |expected, after, _| {
                let row = expected.patient.as_mut().unwrap();
                let new = after.row();
                match field {
                    "givenName" => row.given_name = value.as_str().unwrap().to_owned(),
                    "dateOfBirth" => row.date_of_birth = value.as_str().unwrap().parse().unwrap(),
                    "phone" => row.phone = value.as_str().map(str::to_owned),
                    "nationalId" => row.national_id = value.as_str().map(str::to_owned),
                    "restricted" => row.restricted = value.as_bool().unwrap(),
                    other => panic!("no expectation for updating {other}"),
                }
                row.updated_at = new.updated_at;
            },
        )
        .await;
    }

    async fn adds<T: Clone + std::fmt::Debug>(
        &self,
        class: FieldClass,
        mutation: &str,
        input: Value,
        rows: fn(&mut Stored) -> &mut Vec<T>,
        id: fn(&T) -> Uuid,
    ) {
        // The field the mutation calls: `mutation(...) { <name>(...) { id } }`.
        let name = mutation
            .split_once('{')
            .unwrap()
            .1
            .split('(')
            .next()
            .unwrap()
            .trim()
            .to_owned();
        self.writes(
            Action::Write,
            class,
            mutation,
            |p| json!({ "p": p, "i": input }),
            |expected, after, data| {
                let mut after = after.clone();
                let new = added(rows(expected), rows(&mut after), id, &data[name.as_str()]["id"]);
                rows(expected).push(new);
                rows(expected).sort_by_key(id);
            },
        )
        .await;
    }

    async fn probe(&self, action: Action, class: FieldClass) {
        use FieldClass as C;
        let note = |sensitivity: &str| json!({ "sensitivity": sensitivity, "body": "Probe note" });
        let write_note =
            "mutation($p: ID!, $i: WriteNoteInput!) { writeNote(patientId: $p, input: $i) { id } }";
        let restricted = Stored::read(self.app, self.patient).await.row().restricted;
        match (action, class) {
            (Action::Read, C::AccessLog) => self.reads_access_log().await,
            (Action::Read, class) => self.reads(class).await,
            (Action::Write, C::Directory) => self.updates(class, "givenName", json!("Renamed")).await,
            (Action::Write, C::Demographics) => self.updates(class, "dateOfBirth", json!("1970-01-02")).await,
            (Action::Write, C::Contact) => self.updates(class, "phone", json!("+1 555 0199")).await,
            (Action::Write, C::Identifiers) => self.updates(class, "nationalId", json!("NID-CHANGED")).await,
            (Action::Write, C::Restriction) => self.updates(class, "restricted", json!(!restricted)).await,
            (Action::Write, C::Vitals) => {
                self.adds(class, "mutation($p: ID!, $i: RecordObservationInput!) { recordObservation(patientId: $p, input: $i) { id } }", json!({ "kind": "HEART_RATE", "value": 61.0 }), |s| &mut s.observations, |r| r.id)
                    .await
            }
            (Action::Write, C::Clinical) => {
                self.adds(class, "mutation($p: ID!, $i: RecordDiagnosisInput!) { recordDiagnosis(patientId: $p, input: $i) { id } }", json!({ "icd10Code": "E11", "description": "Probe diagnosis" }), |s| &mut s.diagnoses, |r| r.id)
                    .await
            }
            (Action::Write, C::Notes) => self.adds(class, write_note, note("NORMAL"), |s| &mut s.notes, |r| r.id).await,
            (Action::Write, C::SensitiveNotes) => {
                self.adds(class, write_note, note("PSYCHOTHERAPY"), |s| &mut s.notes, |r| r.id).await
            }
            (Action::Write, C::Billing) => {
                self.adds(class, "mutation($p: ID!, $i: IssueInvoiceInput!) { issueInvoice(patientId: $p, input: $i) { id } }", json!({ "description": "Probe visit", "amountCents": 5000, "currency": "USD" }), |s| &mut s.invoices, |r| r.id)
                    .await
            }
            (Action::Write, C::CareTeam) => {
                let staff = &self.clinic.spare_nurse.id;
                let window = (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339();
                let query = "mutation($i: AssignCareTeamInput!) { assignCareTeam(input: $i) { id } }";
                let with_patient = |p: &str| json!({ "i": { "patientId": p, "staffId": staff, "kind": "NURSE", "endsAt": window } });
                self.writes(action, class, query, with_patient, |expected, after, data| {
                    let new = added(&expected.assignments, &after.assignments, |r| r.id, &data["assignCareTeam"]["id"]);
                    assert_eq!((new.staff_id.to_string(), new.kind.as_str()), (staff.clone(), "NURSE"));
                    expected.assignments.push(new);
                    expected.assignments.sort_by_key(|r| r.id);
                })
                .await
            }
            (Action::Delete, C::PatientRecord) => self.deletes().await,
            (action, class) => panic!("no probe on a patient for {action:?} {class:?}"),
        }
    }

    /// `myAccessLog` lists accesses to the caller's own record only: a
    /// patient's accesses show where the matrix grants ACCESS_LOG in this
    /// relationship (SELF: their own record), and never another's.
    async fn reads_access_log(&self) {
        let what = self.what(Action::Read, FieldClass::AccessLog);
        let reply = self
            .ask("{ myAccessLog(first: 100) { nodes { id } } }", json!({}))
            .await;
        if self
            .matrix
            .scopes(self.role, Action::Read, FieldClass::AccessLog)
            .is_empty()
        {
            assert_eq!(reply.codes(), ["FORBIDDEN"], "{what}: {}", reply.text);
            assert_eq!(reply.data(), &Value::Null, "{what}: {}", reply.text);
            return;
        }
        assert!(reply.body.get("errors").is_none(), "{what}: {}", reply.text);
        let listed: Vec<Uuid> = reply.data()["myAccessLog"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| Uuid::parse_str(n["id"].as_str().unwrap()).unwrap())
            .collect();
        let own = Uuid::parse_str(self.caller_record()).unwrap();
        let this = Uuid::parse_str(self.patient).unwrap();
        let events = audit_event::Entity::find()
            .filter(audit_event::Column::Id.is_in(listed.clone()))
            .all(&self.app.db)
            .await
            .unwrap();
        assert_eq!(events.len(), listed.len(), "{what}: an entry is no event");
        let mut shows_this = false;
        for event in &events {
            let named: Vec<Uuid> = serde_json::from_str(&event.patient_ids).unwrap();
            assert!(
                named.contains(&own),
                "{what}: lists an event about another record"
            );
            shows_this |= named.contains(&this);
        }
        assert_eq!(
            shows_this,
            self.may(Action::Read, FieldClass::AccessLog),
            "{what}: the patient's accesses are shown where the matrix does not say so, or hidden where it does"
        );
    }

    /// The caller's own record (a PATIENT account's).
    fn caller_record(&self) -> &str {
        &self.clinic.patients[&(Role::Patient, OwnRecord)]
    }

    /// Deleting a record: where the matrix allows it, on a twin of the
    /// patient in the same relationship, so the clinic stays whole.
    async fn deletes(&self) {
        let allowed = self.may(Action::Delete, FieldClass::PatientRecord);
        let twin;
        let visit = if allowed {
            twin = self.clinic.admit(self.app, self.role, self.relationship).await;
            Visit {
                patient: &twin,
                ..*self
            }
        } else {
            Visit { ..*self }
        };
        visit
            .writes(
                Action::Delete,
                FieldClass::PatientRecord,
                "mutation($p: ID!) { deletePatient(id: $p) }",
                |p| json!({ "p": p }),
                |expected, _, _| {
                    *expected = Stored {
                        patient: None,
                        observations: vec![],
                        diagnoses: vec![],
                        medications: vec![],
                        allergies: vec![],
                        notes: vec![],
                        coverage: vec![],
                        invoices: vec![],
                        assignments: vec![],
                    };
                },
            )
            .await;
    }

    /// What the server explains for this caller and patient names the scopes
    /// of the relationship and decides as the matrix does.
    async fn is_explained(&self) {
        let admin = self.clinic.caller(Role::Admin);
        let reply = self
            .app
            .as_user(admin, "query($u: ID!, $p: ID!) { explainAccess(userId: $u, patientId: $p) { scopes decisions { fieldClass action allowed } } }", json!({ "u": self.caller.id, "p": self.patient }))
            .await;
        let explained = &reply.ok()["explainAccess"];
        let scopes: Vec<&str> = self.relationship.scopes().iter().map(|s| s.as_str()).collect();
        assert_eq!(
            explained["scopes"],
            json!(scopes),
            "{:?} {:?}: scopes explained",
            self.role,
            self.relationship
        );
        for decision in explained["decisions"].as_array().unwrap() {
            let class = named(
                &FieldClass::ALL,
                decision["fieldClass"].as_str().unwrap(),
                FieldClass::as_str,
            );
            let action = named(&Action::ALL, decision["action"].as_str().unwrap(), Action::as_str);
            assert_eq!(
                decision["allowed"],
                self.may(action, class),
                "{} as explained",
                self.what(action, class)
            );
        }
    }
}

// --- Clinic-wide cells ------------------------------------------------------------

struct Desk<'a> {
    app: &'a TestApp,
    matrix: &'a Matrix,
    clinic: &'a Clinic,
    role: Role,
    caller: &'a Session,
}

impl Desk<'_> {
    fn may(&self, action: Action, class: FieldClass) -> bool {
        let scopes = self.matrix.scopes(self.role, action, class);
        assert!(
            scopes.iter().all(|s| *s == Scope::Any),
            "{:?} {action:?} {class:?} is clinic-wide, yet granted under {scopes:?}",
            self.role
        );
        scopes.contains(&Scope::Any)
    }

    async fn ask(&self, query: &str, variables: Value) -> Reply {
        self.app.as_user(self.caller, query, variables).await
    }

    /// Allowed: no error, and `check` holds. Denied: FORBIDDEN, no data, and
    /// `unchanged` holds.
    fn judge(&self, action: Action, class: FieldClass, reply: &Reply, allowed_ok: bool, denied_ok: bool) {
        let what = format!("{:?} {} {}", self.role, action.as_str(), class.as_str());
        if self.may(action, class) {
            assert!(
                reply.body.get("errors").is_none(),
                "{what} should be allowed: {}",
                reply.text
            );
            assert!(
                allowed_ok,
                "{what} was answered, but did not do what it should: {}",
                reply.text
            );
        } else {
            assert_eq!(
                reply.codes(),
                ["FORBIDDEN"],
                "{what} should be FORBIDDEN: {}",
                reply.text
            );
            assert!(
                denied_ok,
                "{what} was refused but changed what is stored: {}",
                reply.text
            );
        }
    }

    async fn probe(&self, action: Action, class: FieldClass) {
        use Action::*;
        use FieldClass as C;
        let db = &self.app.db;
        let unique = Uuid::new_v4().simple().to_string();
        match (action, class) {
            (Create, C::PatientRecord) => {
                let family = format!("Created {unique}");
                let reply = self
                    .ask("mutation($i: CreatePatientInput!) { createPatient(input: $i) { id } }", json!({ "i": { "givenName": "New", "familyName": family, "dateOfBirth": "1990-01-01", "sex": "FEMALE" } }))
                    .await;
                let rows = patient::Entity::find()
                    .filter(patient::Column::FamilyName.eq(&family))
                    .all(db)
                    .await
                    .unwrap();
                let made = rows.len() == 1
                    && rows[0].registered_by.to_string() == self.caller.id
                    && reply.data()["createPatient"]["id"] == rows[0].id.to_string();
                self.judge(action, class, &reply, made, rows.is_empty());
            }
            (Read, C::Accounts) => {
                let reply = self.ask("{ users(role: BILLING) { id email } }", json!({})).await;
                let listed = reply.data()["users"].as_array().cloned().unwrap_or_default();
                let mut emails_match = !listed.is_empty();
                for account in &listed {
                    let id = Uuid::parse_str(account["id"].as_str().unwrap()).unwrap();
                    let stored = user::Entity::find_by_id(id).one(db).await.unwrap().unwrap();
                    emails_match &= account["email"] == stored.email;
                }
                // Denied: every e-mail null, each with its own FORBIDDEN (or the
                // whole list, for a role that may not list staff at all).
                let hidden: Vec<(Value, String)> = if listed.is_empty() {
                    vec![(json!(["users"]), "FORBIDDEN".to_owned())]
                } else {
                    (0..listed.len())
                        .map(|i| (json!(["users", i, "email"]), "FORBIDDEN".to_owned()))
                        .collect()
                };
                let mut hidden = hidden;
                hidden.sort_by_key(|(p, c)| format!("{p}{c}"));
                let denied_exactly =
                    error_paths(&reply) == hidden && listed.iter().all(|a| a["email"].is_null());
                let what = format!("{:?} READ ACCOUNTS", self.role);
                if self.may(action, class) {
                    assert!(
                        reply.body.get("errors").is_none() && emails_match,
                        "{what} should be allowed: {}",
                        reply.text
                    );
                } else {
                    assert!(
                        denied_exactly,
                        "{what} should be FORBIDDEN at every e-mail: {}",
                        reply.text
                    );
                }
            }
            (Create, C::Accounts) => {
                let email = format!("probe.{unique}@clinic.test");
                let reply = self
                    .ask(
                        "mutation($i: CreateUserInput!) { createUser(input: $i) { user { id } } }",
                        json!({ "i": { "email": email, "name": "Pro Be", "role": "BILLING" } }),
                    )
                    .await;
                // A request stores a code awaiting approval, and no account.
                let requests = account_enrolment::Entity::find()
                    .filter(account_enrolment::Column::Email.eq(&email))
                    .all(db)
                    .await
                    .unwrap();
                let accounts = user::Entity::find()
                    .filter(user::Column::Email.eq(&email))
                    .count(db)
                    .await
                    .unwrap();
                self.judge(
                    action,
                    class,
                    &reply,
                    requests.len() == 1 && requests[0].needs_approval && accounts == 0,
                    requests.is_empty() && accounts == 0,
                );
            }
            (Write | Delete, C::Accounts) => {
                // An enrolled account: a request alone creates no account.
                let target = self.app.user("BILLING", "Tar Get").await.id;
                let id = Uuid::parse_str(&target).unwrap();
                let before = user::Entity::find_by_id(id).one(db).await.unwrap();
                let reply = if action == Write {
                    self.ask(
                        "mutation($u: ID!) { deactivateUser(id: $u) { id } }",
                        json!({ "u": target }),
                    )
                    .await
                } else {
                    self.ask("mutation($u: ID!) { deleteUser(id: $u) }", json!({ "u": target }))
                        .await
                };
                let after = user::Entity::find_by_id(id).one(db).await.unwrap();
                let done = match (&after, action) {
                    (Some(row), Write) => !row.active && row.deactivated_at.is_some(),
                    (None, Delete) => true,
                    _ => false,
                };
                self.judge(action, class, &reply, done, after == before);
            }
            (Create, C::PatientAccounts) => {
                let email = format!("invited.{unique}@clinic.test");
                let reply = self
                    .ask("mutation($p: ID!, $e: String!) { invitePatient(patientId: $p, email: $e) { accountId } }", json!({ "p": self.clinic.stranger, "e": email }))
                    .await;
                let rows = account_enrolment::Entity::find()
                    .filter(account_enrolment::Column::Email.eq(&email))
                    .all(db)
                    .await
                    .unwrap();
                let made = rows.len() == 1
                    && rows[0].patient_id.map(|p| p.to_string()).as_deref()
                        == Some(self.clinic.stranger.as_str());
                self.judge(action, class, &reply, made, rows.is_empty());
            }
            (Read, C::StaffDirectory) => {
                let reply = self.ask("{ users { id } }", json!({})).await;
                let listed: BTreeSet<String> = reply.data()["users"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|u| u["id"].as_str().unwrap().to_owned())
                    .collect();
                let staff: BTreeSet<String> = user::Entity::find()
                    .filter(user::Column::Active.eq(true))
                    .filter(user::Column::Role.ne("PATIENT"))
                    .all(db)
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|u| u.id.to_string())
                    .collect();
                self.judge(
                    action,
                    class,
                    &reply,
                    listed.is_superset(&staff),
                    reply.data().is_null(),
                );
            }
            (Read, C::Departments) => {
                let reply = self.ask("{ departments { id } }", json!({})).await;
                let listed: BTreeSet<String> = reply.data()["departments"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|d| d["id"].as_str().unwrap().to_owned())
                    .collect();
                let stored: BTreeSet<String> = department::Entity::find()
                    .all(db)
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|d| d.id.to_string())
                    .collect();
                self.judge(action, class, &reply, listed == stored, reply.data().is_null());
            }
            (Create, C::Departments) => {
                let name = format!("Ward {unique}");
                let reply = self
                    .ask(
                        "mutation($n: String!) { createDepartment(name: $n) { id } }",
                        json!({ "n": name }),
                    )
                    .await;
                let rows = department::Entity::find()
                    .filter(department::Column::Name.eq(&name))
                    .all(db)
                    .await
                    .unwrap();
                self.judge(action, class, &reply, rows.len() == 1, rows.is_empty());
            }
            (Write, C::Departments) => {
                let id = Uuid::parse_str(&self.clinic.ward).unwrap();
                let before = department::Entity::find_by_id(id).one(db).await.unwrap();
                let name = format!("Renamed {unique}");
                let reply = self
                    .ask(
                        "mutation($id: ID!, $n: String!) { renameDepartment(id: $id, name: $n) { id } }",
                        json!({ "id": self.clinic.ward, "n": name }),
                    )
                    .await;
                let after = department::Entity::find_by_id(id).one(db).await.unwrap();
                self.judge(
                    action,
                    class,
                    &reply,
                    after.as_ref().is_some_and(|d| d.name == name),
                    after == before,
                );
            }
            (Read, C::Deidentified) => {
                let reply = self
                    .ask(
                        "{ deidentifiedPatients { release { number } nodes { pseudonym } } }",
                        json!({}),
                    )
                    .await;
                let latest = research_release::Entity::find()
                    .all(db)
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|r| r.number)
                    .max();
                let release = &reply.data()["deidentifiedPatients"]["release"];
                let current = match latest {
                    Some(n) => release["number"] == n,
                    None => release.is_null() && !reply.data().is_null(),
                };
                self.judge(action, class, &reply, current, reply.data().is_null());
            }
            (Create, C::Deidentified) => {
                let before = research_release::Entity::find().all(db).await.unwrap();
                let reply = self
                    .ask("mutation { publishResearchRelease { number } }", json!({}))
                    .await;
                let after = research_release::Entity::find().all(db).await.unwrap();
                let published = after.len() == before.len() + 1
                    && after
                        .iter()
                        .any(|r| reply.data()["publishResearchRelease"]["number"] == r.number);
                self.judge(action, class, &reply, published, after == before);
            }
            (Read, C::AccessReview) => {
                let (nurse, patient) = (&self.clinic.caller(Role::Nurse).id, &self.clinic.stranger);
                let reply = self
                    .ask("query($u: ID!, $p: ID!) { explainAccess(userId: $u, patientId: $p) { userId patientId } }", json!({ "u": nurse, "p": patient }))
                    .await;
                let explained = &reply.data()["explainAccess"];
                self.judge(
                    action,
                    class,
                    &reply,
                    explained["userId"] == *nurse && explained["patientId"] == *patient,
                    reply.data().is_null(),
                );
            }
            (Read | Write, C::BreakGlassReview) => {
                // A fresh grant by a nurse on a patient of the colleague's:
                // nobody reviews their own grant, and each probe has its own.
                let patient = self
                    .app
                    .patient(&self.clinic.colleague, "Glass", &format!("Probe{unique}"))
                    .await;
                let opened = self
                    .app
                    .as_user(
                        &self.clinic.spare_nurse,
                        "mutation($p: ID!) { breakGlass(patientId: $p, reason: \"Found unresponsive in the waiting room\") { id } }",
                        json!({ "p": patient }),
                    )
                    .await;
                let grant = opened.ok()["breakGlass"]["id"].as_str().unwrap().to_owned();
                let reviewed = || async {
                    break_glass_grant::Entity::find_by_id(Uuid::parse_str(&grant).unwrap())
                        .one(db)
                        .await
                        .unwrap()
                        .unwrap()
                        .reviewed_at
                };
                let before = reviewed().await;
                let reply = if action == Read {
                    self.ask(
                        "{ breakGlassGrants(status: AWAITING_REVIEW) { grants { id } perUser { opened } } }",
                        json!({}),
                    )
                    .await
                } else {
                    self.ask(
                        "mutation($g: ID!) { reviewBreakGlass(id: $g, outcome: APPROPRIATE) { id } }",
                        json!({ "g": grant }),
                    )
                    .await
                };
                let after = reviewed().await;
                let done = if action == Read {
                    reply.data()["breakGlassGrants"]["grants"]
                        .as_array()
                        .is_some_and(|list| list.iter().any(|g| g["id"] == grant.as_str()))
                } else {
                    after.is_some()
                };
                self.judge(action, class, &reply, done, after == before);
            }
            (Read | Write, C::AccountApprovals) => {
                // Requested by the second administrator: nobody approves their own request.
                let (requested, _) = self
                    .app
                    .request_account_as(
                        &self.clinic.approver,
                        &format!("approve.{unique}@clinic.test"),
                        "Ap Prove",
                        "BILLING",
                    )
                    .await;
                let pending = || async {
                    account_enrolment::Entity::find()
                        .filter(account_enrolment::Column::AccountId.eq(Uuid::parse_str(&requested).unwrap()))
                        .all(db)
                        .await
                        .unwrap()
                };
                let before = pending().await;
                let reply = if action == Read {
                    self.ask("{ accountRequests { accountId } }", json!({})).await
                } else {
                    self.ask(
                        "mutation($u: ID!) { approveAccount(userId: $u) }",
                        json!({ "u": requested }),
                    )
                    .await
                };
                let after = pending().await;
                let done = if action == Read {
                    reply.data()["accountRequests"]
                        .as_array()
                        .is_some_and(|list| list.iter().any(|r| r["accountId"] == requested))
                } else {
                    after.len() == 1
                        && after[0].approved_by.map(|a| a.to_string()) == Some(self.caller.id.clone())
                };
                self.judge(action, class, &reply, done, after == before);
            }
            (Read, C::AuditTrail) => {
                let reply = self
                    .ask(
                        "{ auditEvents(first: 5) { edges { cursor node { seq action } } } }",
                        json!({}),
                    )
                    .await;
                let listed = reply.data()["auditEvents"]["edges"]
                    .as_array()
                    .is_some_and(|edges| !edges.is_empty());
                self.judge(action, class, &reply, listed, reply.data().is_null());
            }
            (action, class) => panic!("no clinic-wide probe for {action:?} {class:?}"),
        }
    }
}

on_both_databases! {
    async fn the_server_obeys_every_cell_of_the_access_matrix(app) {
        let matrix = Matrix::committed();
        matrix.break_glass_only_reads();
        matrix.sensitive_notes_come_with_notes();
        let clinic = Clinic::open(&app, &matrix).await;
        let mut record = Record::default();
        for role in Role::ALL {
            let caller = clinic.caller(role);
            for relationship in clinic.relationships_of(role, &matrix) {
                let visit = Visit { app: &app, matrix: &matrix, clinic: &clinic, role, caller, relationship, patient: clinic.patient(role, relationship) };
                // An administrator cannot see a restricted patient to explain it.
                if relationship != Restricted {
                    visit.is_explained().await;
                }
                for action in Action::ALL {
                    for class in FieldClass::ALL {
                        if kind(action, class) == Kind::OnPatient {
                            visit.probe(action, class).await;
                            record.0.insert((role, relationship, class, action));
                        }
                    }
                }
            }
            let desk = Desk { app: &app, matrix: &matrix, clinic: &clinic, role, caller };
            for action in Action::ALL {
                for class in FieldClass::ALL {
                    match kind(action, class) {
                        Kind::ClinicWide => desk.probe(action, class).await,
                        Kind::NoOperation => assert!(
                            matrix.scopes(role, action, class).is_empty(),
                            "the matrix grants {role:?} {action:?} {class:?}, which no operation does"
                        ),
                        Kind::OnPatient => continue,
                    }
                    record.0.insert((role, Clinic, class, action));
                }
            }
        }
        record.covers_the_matrix(&matrix, &clinic);
    }
}

impl Record {
    /// Every cell was exercised: per role, every class and action, on a
    /// patient in every relationship the role can have (or once, clinic-wide),
    /// and every scope the matrix grants a role under was one the test
    /// established for it.
    fn covers_the_matrix(&self, matrix: &Matrix, clinic: &Clinic) {
        assert!(!self.0.is_empty(), "no cell of the matrix was exercised");
        let mut missing = Vec::new();
        for role in Role::ALL {
            let relationships = clinic.relationships_of(role, matrix);
            let established: BTreeSet<Scope> = relationships.iter().filter_map(|r| r.exercises()).collect();
            for class in FieldClass::ALL {
                for action in Action::ALL {
                    let places = match kind(action, class) {
                        Kind::OnPatient => relationships.clone(),
                        Kind::ClinicWide | Kind::NoOperation => vec![Clinic],
                    };
                    for place in places {
                        if !self.0.contains(&(role, place, class, action)) {
                            missing.push(format!("{role:?} {action:?} {class:?} ({place:?})"));
                        }
                    }
                    for scope in matrix.scopes(role, action, class) {
                        if !established.contains(scope) {
                            missing.push(format!(
                                "{role:?} {action:?} {class:?} under {scope:?}, which no {role:?} was put in"
                            ));
                        }
                    }
                }
            }
        }
        assert!(
            missing.is_empty(),
            "cells of the matrix not exercised:\n{}",
            missing.join("\n")
        );
    }
}
