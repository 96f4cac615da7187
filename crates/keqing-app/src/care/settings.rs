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

/// Why a setting cannot be used, named by its key.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("未知的关怀设置 unknown care setting {0:?}; known: company_name, cadence_standards, daily_quota, frequency_cap, occasions")]
    Unknown(String),
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

    /// Applies a partial update (`{key: value}`), checking every value.
    pub fn patched(&self, body: &serde_json::Map<String, Value>) -> Result<Self, SettingsError> {
        let mut s = serde_json::to_value(self).map_err(|e| SettingsError::Invalid {
            key: "settings".into(),
            message: e.to_string(),
        })?;
        for (k, v) in body {
            if !SETTING_KEYS.contains(&k.as_str()) {
                return Err(SettingsError::Unknown(k.clone()));
            }
            s[k.as_str()] = v.clone();
        }
        let new: CareSettings = serde_json::from_value(s).map_err(|e| SettingsError::Invalid {
            key: body.keys().cloned().collect::<Vec<_>>().join(", "),
            message: e.to_string(),
        })?;
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
