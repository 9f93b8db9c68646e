//! `caregraph seed-demo`: a small fictional clinic, so that GraphiQL is useful
//! at once. Every name and number here is invented. The logins are listed in
//! the README.
//!
//! Seeding writes rows directly, without a caller: the functions that do so
//! are named `unrestricted_*` so that every bypass of the policy is greppable.

use caregraph_entity::{
    allergy, care_assignment, clinical_note, coverage, diagnosis, invoice, medication, observation, patient,
    user,
};
use chrono::{Duration, NaiveDate, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use crate::access::{UnrestrictedAccount, unrestricted_create_account, unrestricted_publish_release};
use crate::error::AppResult;
use crate::policy::Role;

pub const DEMO_DOMAIN: &str = "demo.caregraph.test";

/// (email local part, name, role, password)
pub const DEMO_STAFF: &[(&str, &str, Role, &str)] = &[
    ("admin", "Ada Admin", Role::Admin, "demo manager password 2026"),
    (
        "amara.okafor",
        "Dr. Amara Okafor",
        Role::Doctor,
        "demo doctor password 2026",
    ),
    (
        "lukas.weber",
        "Dr. Lukas Weber",
        Role::Doctor,
        "demo doctor password 2026",
    ),
    (
        "nina.patel",
        "Nina Patel",
        Role::Nurse,
        "demo nurse password 2026",
    ),
    ("tom.berg", "Tom Berg", Role::Nurse, "demo nurse password 2026"),
    (
        "bea.lind",
        "Bea Lind",
        Role::Billing,
        "demo billing password 2026",
    ),
    (
        "rui.costa",
        "Rui Costa",
        Role::Reception,
        "demo reception password 2026",
    ),
    (
        "cora.diaz",
        "Cora Diaz",
        Role::ComplianceOfficer,
        "demo compliance password 2026",
    ),
    (
        "ravi.iyer",
        "Ravi Iyer",
        Role::Researcher,
        "demo researcher password 2026",
    ),
];

/// The demo patient account: Maria Lopez reading her own record.
pub const DEMO_PATIENT_LOGIN: (&str, &str) = ("maria.lopez", "demo patient password 2026");

struct DemoPatient {
    given: &'static str,
    family: &'static str,
    born: (i32, u32, u32),
    sex: &'static str,
    /// Index in `DEMO_STAFF` of the doctor who registers the patient.
    doctor: usize,
    /// Index in `DEMO_STAFF` of the nurse assigned, if any.
    nurse: Option<usize>,
}

const fn demo(
    given: &'static str,
    family: &'static str,
    born: (i32, u32, u32),
    sex: &'static str,
    doctor: usize,
    nurse: Option<usize>,
) -> DemoPatient {
    DemoPatient {
        given,
        family,
        born,
        sex,
        doctor,
        nurse,
    }
}

const DEMO_PATIENTS: &[DemoPatient] = &[
    demo("Maria", "Lopez", (1958, 3, 14), "FEMALE", 1, Some(3)),
    demo("Jonas", "Eriksen", (1990, 11, 2), "MALE", 1, Some(3)),
    demo("Aiko", "Tanaka", (1975, 6, 30), "FEMALE", 1, None),
    demo("Samuel", "Mensah", (2001, 1, 19), "MALE", 1, None),
    demo("Elena", "Novak", (1942, 9, 8), "FEMALE", 2, Some(4)),
    demo("Omar", "Haddad", (1984, 4, 25), "MALE", 2, None),
];

pub enum SeedOutcome {
    Seeded,
    AlreadyThere,
}

pub async fn seed_demo(db: &DatabaseConnection) -> AppResult<SeedOutcome> {
    let admin_email = format!("admin@{DEMO_DOMAIN}");
    let existing = user::Entity::find()
        .filter(user::Column::Email.eq(admin_email))
        .one(db)
        .await?;
    if existing.is_some() {
        return Ok(SeedOutcome::AlreadyThere);
    }
    let mut staff = Vec::new();
    for (local, name, role, password) in DEMO_STAFF {
        let account = UnrestrictedAccount {
            email: format!("{local}@{DEMO_DOMAIN}"),
            name: (*name).to_owned(),
            role: *role,
            password: (*password).to_owned(),
            patient_id: None,
        };
        staff.push(unrestricted_create_account(db, account).await?);
    }
    let now = Utc::now();
    for (n, demo) in DEMO_PATIENTS.iter().enumerate() {
        let doctor = staff[demo.doctor].id;
        let patient = unrestricted_insert_patient(db, n, demo, doctor).await?;
        if let Some(nurse) = demo.nurse {
            unrestricted_assign(db, patient.id, staff[nurse].id, doctor).await?;
        }
        for (hours_ago, kind, value, unit) in [
            (2, "HEART_RATE", 72.0 + n as f64, "/min"),
            (2, "BODY_TEMPERATURE", 36.6 + n as f64 / 10.0, "Cel"),
            (8, "OXYGEN_SATURATION", 97.0, "%"),
        ] {
            observation::ActiveModel {
                id: Set(Uuid::new_v4()),
                patient_id: Set(patient.id),
                kind: Set(kind.to_owned()),
                value: Set(value),
                unit: Set(unit.to_owned()),
                recorded_at: Set(now - Duration::hours(hours_ago)),
                recorded_by: Set(doctor),
            }
            .insert(db)
            .await?;
        }
        unrestricted_chart(db, patient.id, doctor, staff[5].id, n).await?;
    }
    let (local, password) = DEMO_PATIENT_LOGIN;
    let first_patient = patient::Entity::find()
        .filter(patient::Column::Mrn.eq("MRN-DEMO-0001"))
        .one(db)
        .await?
        .map(|p| p.id);
    unrestricted_create_account(
        db,
        UnrestrictedAccount {
            email: format!("{local}@{DEMO_DOMAIN}"),
            name: "Maria Lopez".to_owned(),
            role: Role::Patient,
            password: password.to_owned(),
            patient_id: first_patient,
        },
    )
    .await?;
    // The demo researcher sees the data set at once. A fresh clinic has no
    // release yet, so no interval applies.
    unrestricted_publish_release(db, std::time::Duration::ZERO).await?;
    Ok(SeedOutcome::Seeded)
}

/// A diagnosis, a medication, an allergy, a note, coverage and an invoice.
async fn unrestricted_chart(
    db: &DatabaseConnection,
    patient_id: Uuid,
    doctor: Uuid,
    billing: Uuid,
    n: usize,
) -> AppResult<()> {
    let now = Utc::now();
    let (code, text) = [
        ("J45.909", "Asthma"),
        ("I10", "Essential hypertension"),
        ("E11.9", "Type 2 diabetes"),
    ][n % 3];
    diagnosis::ActiveModel {
        id: Set(Uuid::new_v4()),
        patient_id: Set(patient_id),
        icd10_code: Set(code.to_owned()),
        description: Set(text.to_owned()),
        recorded_by: Set(doctor),
        recorded_at: Set(now - Duration::days(30)),
        resolved_at: Set(None),
    }
    .insert(db)
    .await?;
    medication::ActiveModel {
        id: Set(Uuid::new_v4()),
        patient_id: Set(patient_id),
        name: Set(["Salbutamol", "Ramipril", "Metformin"][n % 3].to_owned()),
        dose: Set(["100 µg", "5 mg", "500 mg"][n % 3].to_owned()),
        route: Set(["inhaled", "oral", "oral"][n % 3].to_owned()),
        frequency: Set("as needed".to_owned()),
        prescribed_by: Set(doctor),
        starts_at: Set(now - Duration::days(30)),
        ends_at: Set(None),
    }
    .insert(db)
    .await?;
    allergy::ActiveModel {
        id: Set(Uuid::new_v4()),
        patient_id: Set(patient_id),
        substance: Set("Penicillin".to_owned()),
        reaction: Set("Rash".to_owned()),
        severity: Set("MODERATE".to_owned()),
        recorded_by: Set(doctor),
        recorded_at: Set(now - Duration::days(30)),
    }
    .insert(db)
    .await?;
    clinical_note::ActiveModel {
        id: Set(Uuid::new_v4()),
        patient_id: Set(patient_id),
        author_id: Set(doctor),
        sensitivity: Set("NORMAL".to_owned()),
        body: Set("Seen in clinic; stable. Review in three months.".to_owned()),
        written_at: Set(now - Duration::days(2)),
        updated_at: Set(now - Duration::days(2)),
    }
    .insert(db)
    .await?;
    coverage::ActiveModel {
        id: Set(Uuid::new_v4()),
        patient_id: Set(patient_id),
        payer: Set("Demo Mutual Insurance".to_owned()),
        plan: Set("Standard".to_owned()),
        member_id: Set(format!("DMI-{:05}", 100 + n)),
        valid_from: Set(NaiveDate::from_ymd_opt(2026, 1, 1).expect("a valid date")),
        valid_to: Set(None),
        recorded_by: Set(billing),
    }
    .insert(db)
    .await?;
    invoice::ActiveModel {
        id: Set(Uuid::new_v4()),
        patient_id: Set(patient_id),
        description: Set("Outpatient consultation".to_owned()),
        amount_cents: Set(12_000),
        currency: Set("USD".to_owned()),
        status: Set("ISSUED".to_owned()),
        issued_by: Set(billing),
        issued_at: Set(now - Duration::days(1)),
    }
    .insert(db)
    .await?;
    Ok(())
}

async fn unrestricted_insert_patient(
    db: &DatabaseConnection,
    n: usize,
    demo: &DemoPatient,
    registered_by: Uuid,
) -> AppResult<patient::Model> {
    let now = Utc::now();
    let (given, family, (y, m, d)) = (demo.given, demo.family, demo.born);
    Ok(patient::ActiveModel {
        id: Set(Uuid::new_v4()),
        mrn: Set(format!("MRN-DEMO-{:04}", n + 1)),
        given_name: Set(given.to_owned()),
        family_name: Set(family.to_owned()),
        date_of_birth: Set(NaiveDate::from_ymd_opt(y, m, d).expect("demo dates are valid")),
        sex: Set(demo.sex.to_owned()),
        phone: Set(Some(format!("+1 555 0100 {:03}", n + 1))),
        address: Set(Some(format!("{} Example Street, Springfield", 10 + n))),
        email: Set(Some(format!(
            "{}.{}@patients.{DEMO_DOMAIN}",
            given.to_lowercase(),
            family.to_lowercase()
        ))),
        national_id: Set(Some(format!("DEMO-{:06}", 1000 + n))),
        postal_code: Set(Some(format!("{}", 10001 + 111 * n))),
        restricted: Set(false),
        department_id: Set(None),
        research_id: Set(Some(Uuid::new_v4())),
        had_account: Set(false),
        registered_by: Set(registered_by),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await?)
}

async fn unrestricted_assign(
    db: &DatabaseConnection,
    patient_id: Uuid,
    nurse_id: Uuid,
    by: Uuid,
) -> AppResult<()> {
    let now = Utc::now();
    care_assignment::ActiveModel {
        id: Set(Uuid::new_v4()),
        patient_id: Set(patient_id),
        staff_id: Set(nurse_id),
        kind: Set("NURSE".to_owned()),
        assigned_by: Set(by),
        starts_at: Set(now),
        ends_at: Set(None),
        revoked_at: Set(None),
        created_at: Set(now),
    }
    .insert(db)
    .await?;
    Ok(())
}
