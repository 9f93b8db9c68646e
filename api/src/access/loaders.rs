//! DataLoaders: every relation of a patient is fetched for all patients of a
//! response in one statement, never one statement per patient.

use std::collections::HashMap;

use async_graphql::dataloader::Loader;
use caregraph_entity::{break_glass_grant, care_assignment, observation, user};
use chrono::Utc;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use super::scope::{BREAK_GLASS, NURSE, active_assignment, active_grant};
use crate::error::AppError;

/// Wraps the error so loaders can share it between waiting futures.
#[derive(Clone, Debug)]
pub struct LoadError(pub std::sync::Arc<AppError>);

impl From<sea_orm::DbErr> for LoadError {
    fn from(e: sea_orm::DbErr) -> Self {
        LoadError(std::sync::Arc::new(AppError::Database(e)))
    }
}

impl From<LoadError> for AppError {
    fn from(e: LoadError) -> Self {
        AppError::Internal(format!("loading a relation failed: {}", e.0))
    }
}

/// Per patient: the kinds of the caller's own active assignments to them,
/// and `BREAK_GLASS` where the caller holds an active break-glass grant (two
/// statements per batch, whatever its size; one for roles that cannot break
/// glass).
pub struct CareRelationLoader {
    db: DatabaseConnection,
    staff_id: Option<Uuid>,
    /// Whether the caller's role may break glass at all; if not, its
    /// grants are not looked up.
    breaks_glass: bool,
}

impl CareRelationLoader {
    pub fn new(db: DatabaseConnection, staff_id: Option<Uuid>, breaks_glass: bool) -> Self {
        CareRelationLoader {
            db,
            staff_id,
            breaks_glass,
        }
    }
}

impl Loader<Uuid> for CareRelationLoader {
    type Value = Vec<String>;
    type Error = LoadError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let Some(staff_id) = self.staff_id else {
            return Ok(HashMap::new());
        };
        let now = Utc::now();
        let rows = care_assignment::Entity::find()
            .filter(care_assignment::Column::StaffId.eq(staff_id))
            .filter(care_assignment::Column::PatientId.is_in(keys.iter().copied()))
            .filter(active_assignment(now))
            .all(&self.db)
            .await?;
        let mut map: HashMap<Uuid, Vec<String>> = HashMap::new();
        for row in rows {
            map.entry(row.patient_id).or_default().push(row.kind);
        }
        if !self.breaks_glass {
            return Ok(map);
        }
        let grants: Vec<Uuid> = break_glass_grant::Entity::find()
            .select_only()
            .column(break_glass_grant::Column::PatientId)
            .filter(break_glass_grant::Column::UserId.eq(staff_id))
            .filter(break_glass_grant::Column::PatientId.is_in(keys.iter().copied()))
            .filter(active_grant(now))
            .into_tuple()
            .all(&self.db)
            .await?;
        for patient_id in grants {
            let kinds = map.entry(patient_id).or_default();
            if !kinds.iter().any(|k| k == BREAK_GLASS) {
                kinds.push(BREAK_GLASS.to_owned());
            }
        }
        Ok(map)
    }
}

/// Per patient: vital signs, newest first.
pub struct ObservationLoader {
    db: DatabaseConnection,
}

impl ObservationLoader {
    pub fn new(db: DatabaseConnection) -> Self {
        ObservationLoader { db }
    }
}

impl Loader<Uuid> for ObservationLoader {
    type Value = Vec<observation::Model>;
    type Error = LoadError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let rows = observation::Entity::find()
            .filter(observation::Column::PatientId.is_in(keys.iter().copied()))
            .order_by_desc(observation::Column::RecordedAt)
            .order_by_asc(observation::Column::Id)
            .all(&self.db)
            .await?;
        let mut map: HashMap<Uuid, Vec<observation::Model>> = HashMap::new();
        for row in rows {
            map.entry(row.patient_id).or_default().push(row);
        }
        Ok(map)
    }
}

/// Per patient: the nurses with an active assignment.
pub struct NurseLoader {
    db: DatabaseConnection,
}

impl NurseLoader {
    pub fn new(db: DatabaseConnection) -> Self {
        NurseLoader { db }
    }
}

impl Loader<Uuid> for NurseLoader {
    type Value = Vec<user::Model>;
    type Error = LoadError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let rows = care_assignment::Entity::find()
            .filter(care_assignment::Column::PatientId.is_in(keys.iter().copied()))
            .filter(care_assignment::Column::Kind.eq(NURSE))
            .filter(active_assignment(Utc::now()))
            .find_also_related(user::Entity)
            .order_by_asc(care_assignment::Column::StartsAt)
            .all(&self.db)
            .await?;
        let mut map: HashMap<Uuid, Vec<user::Model>> = HashMap::new();
        for (assignment, nurse) in rows {
            if let Some(nurse) = nurse.filter(|n| n.active) {
                let list = map.entry(assignment.patient_id).or_default();
                if !list.iter().any(|n| n.id == nurse.id) {
                    list.push(nurse);
                }
            }
        }
        Ok(map)
    }
}
