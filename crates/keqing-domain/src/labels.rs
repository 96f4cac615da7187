//! Enumerations with a stable English id (used in the API and the database)
//! and the Chinese label users see and type in import files.

/// Declares an enum whose values parse from their id, their Chinese label or
/// any listed alias, case-insensitively, and serialise as the id.
#[macro_export]
macro_rules! labeled_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $id:literal, $zh:literal $(, $alias:literal)*;)+ }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $id),+ }
            }

            pub fn label_zh(self) -> &'static str {
                match self { $($name::$variant => $zh),+ }
            }

            pub fn parse(s: &str) -> Result<$name, $crate::labels::UnknownValue> {
                let t = s.trim();
                $(
                    if t.eq_ignore_ascii_case($id) || t == $zh $(|| t.eq_ignore_ascii_case($alias))* {
                        return Ok($name::$variant);
                    }
                )+
                Err($crate::labels::UnknownValue {
                    value: t.to_string(),
                    expected: vec![$($id),+],
                    labels: vec![$($zh),+],
                })
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                $name::parse(&s).map_err(serde::de::Error::custom)
            }
        }

        /// Its ids, with their Chinese labels in the description.
        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                let labels = [$(concat!($id, " ", $zh)),+].join(", ");
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .enum_values(Some([$($id),+]))
                    .description(Some(labels))
                    .into()
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for $name {}
    };
}

/// A value that is none of an enumeration's: the message lists the Chinese
/// labels in its Chinese half and the ids in its English half (either is
/// accepted, as are the aliases).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "无法识别的取值“{value}”，应为{}之一 unknown value {value:?}; expected one of {}",
    labels.join("、"),
    expected.join(", ")
)]
pub struct UnknownValue {
    pub value: String,
    pub expected: Vec<&'static str>,
    /// The Chinese labels of `expected`, in its order.
    pub labels: Vec<&'static str>,
}

#[cfg(test)]
mod tests {
    use crate::customer::{BusinessStage, CompanyType, CustomerKind, LifecycleStage, Source};
    use crate::{ActivityKind, ContactLevel};

    #[test]
    fn chinese_labels_and_aliases_are_accepted_as_the_ids_are() {
        for (typed, kind) in [
            ("公司", CustomerKind::Company),
            ("企业", CustomerKind::Company),
            ("单位", CustomerKind::Company),
            ("个人", CustomerKind::Individual),
            (" 个人 ", CustomerKind::Individual),
            ("Individual", CustomerKind::Individual),
        ] {
            assert_eq!(CustomerKind::parse(typed), Ok(kind), "{typed:?}");
        }
        for v in LifecycleStage::ALL {
            assert_eq!(LifecycleStage::parse(v.label_zh()), Ok(*v));
        }
        for v in BusinessStage::ALL {
            assert_eq!(BusinessStage::parse(v.label_zh()), Ok(*v));
        }
        for v in CompanyType::ALL {
            assert_eq!(CompanyType::parse(v.label_zh()), Ok(*v));
        }
        for v in Source::ALL {
            assert_eq!(Source::parse(v.label_zh()), Ok(*v));
        }
        for v in ContactLevel::ALL {
            assert_eq!(ContactLevel::parse(v.label_zh()), Ok(*v));
        }
        for v in ActivityKind::ALL {
            assert_eq!(ActivityKind::parse(v.label_zh()), Ok(*v));
        }
        // The customer class as users write it.
        for typed in ["A", "a", "A类", "A 类", "A类客户", "Ａ"] {
            let c = crate::CustomerInput::from_json(
                serde_json::json!({"name": "甲", "class": typed})
                    .as_object()
                    .unwrap(),
            )
            .unwrap_or_else(|e| panic!("{typed:?}: {e:?}"));
            assert_eq!(c.class.as_deref(), Some("A"), "{typed:?}");
        }
    }

    #[test]
    fn an_unknown_value_lists_the_chinese_labels_in_chinese() {
        let e = CustomerKind::parse("公 司x").unwrap_err();
        assert_eq!(
            e.to_string(),
            "无法识别的取值“公 司x”，应为公司、个人之一 unknown value \"公 司x\"; expected one of company, individual"
        );
    }
}
