//! The care settings (`care_settings` rows): read with defaults, patched and checked.

use super::{GenerateError, DEFAULT_COMPANY_NAME};
use chrono::NaiveDate;
use keqing_care::cadence::{self, CadenceStandard};
use keqing_care::cap::{self, FrequencyCap};
use keqing_care::quota::DailyQuota;
use keqing_care::{Calendar, CalendarConfig};
use keqing_store::Store;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The care settings (`care_settings` rows), defaults filled in.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CareSettings {
    pub company_name: String,
    pub cadence_standards: Vec<CadenceStandard>,
    pub daily_quota: DailyQuota,
    pub frequency_cap: FrequencyCap,
    /// The deployment's calendar: built-ins switched off, occasions added.
    pub occasions: CalendarConfig,
}

impl Default for CareSettings {
    fn default() -> Self {
        CareSettings {
            company_name: DEFAULT_COMPANY_NAME.into(),
            cadence_standards: cadence::default_standards(),
            daily_quota: DailyQuota::default(),
            // 000: too many calls annoyed a customer; at most 3 contacts a week.
            frequency_cap: FrequencyCap {
                max_contacts: 3,
                period_days: 7,
            },
            occasions: CalendarConfig::default(),
        }
    }
}

const SETTING_KEYS: &[&str] = &[
    "company_name",
    "cadence_standards",
    "daily_quota",
    "frequency_cap",
    "occasions",
];

/// A change of the care settings: any of the keys; those left out keep
/// their value.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SettingsPatch {
    /// signs every greeting; not empty
    #[serde(skip_serializing_if = "Option::is_none")]
    pub company_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cadence_standards: Option<Vec<CadenceStandard>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub daily_quota: Option<DailyQuota>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frequency_cap: Option<FrequencyCap>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub occasions: Option<CalendarConfig>,
}

impl SettingsPatch {
    /// The keys the patch sets, each with its new value.
    pub fn entries(&self) -> Vec<(String, Value)> {
        match serde_json::to_value(self) {
            Ok(Value::Object(m)) => m.into_iter().collect(),
            _ => vec![],
        }
    }
}

/// Why a setting cannot be used, named by its key.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("关怀设置有误 care setting {key}: {message}")]
    Invalid { key: String, message: String },
}

impl CareSettings {
    pub async fn load(store: &dyn Store) -> Result<CareSettings, GenerateError> {
        let mut s = serde_json::to_value(CareSettings::default())
            .map_err(|e| GenerateError::Settings(e.to_string()))?;
        for key in SETTING_KEYS {
            if let Some(v) = store.care_setting(key).await? {
                s[*key] = v;
            }
        }
        serde_json::from_value(s).map_err(|e| GenerateError::Settings(e.to_string()))
    }

    /// Applies a partial update, checking every value.
    pub fn patched(&self, patch: &SettingsPatch) -> Result<Self, SettingsError> {
        let mut new = self.clone();
        let p = patch.clone();
        if let Some(v) = p.company_name {
            new.company_name = v;
        }
        if let Some(v) = p.cadence_standards {
            new.cadence_standards = v;
        }
        if let Some(v) = p.daily_quota {
            new.daily_quota = v;
        }
        if let Some(v) = p.frequency_cap {
            new.frequency_cap = v;
        }
        if let Some(v) = p.occasions {
            new.occasions = v;
        }
        let bad = |key: &str, message: String| SettingsError::Invalid {
            key: key.into(),
            message,
        };
        if new.company_name.trim().is_empty() {
            return Err(bad(
                "company_name",
                "must not be empty: it signs every greeting".into(),
            ));
        }
        Calendar::new(&new.occasions).map_err(|e| bad("occasions", e.to_string()))?;
        cadence::cadence_report(&new.cadence_standards, &[], &[], NaiveDate::MIN)
            .map_err(|e| bad("cadence_standards", e.to_string()))?;
        cap::apply_frequency_cap(new.frequency_cap, &[], &[])
            .map_err(|e| bad("frequency_cap", e.to_string()))?;
        Ok(new)
    }
}
