//! JSON schemas of the types that serialize themselves as text (with the
//! `openapi` feature): a phone number, an e-mail address, an amount of
//! money, a birthday.

use crate::{Birthday, Email, Money, Phone};
use utoipa::openapi::schema::{Schema, Type};
use utoipa::openapi::{ObjectBuilder, RefOr};
use utoipa::{PartialSchema, ToSchema};

fn text(description: &str, example: &str) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description))
        .examples([example])
        .into()
}

impl PartialSchema for Phone {
    fn schema() -> RefOr<Schema> {
        text(
            "a mobile (11 digits) or a landline with its area code and extension",
            "13800001234",
        )
    }
}
impl ToSchema for Phone {}

impl PartialSchema for Email {
    fn schema() -> RefOr<Schema> {
        text("an e-mail address", "wang@example.com")
    }
}
impl ToSchema for Email {}

impl PartialSchema for Money {
    fn schema() -> RefOr<Schema> {
        text(
            "yuan, a decimal string with at most two decimals",
            "1280.50",
        )
    }
}
impl ToSchema for Money {}

impl PartialSchema for Birthday {
    fn schema() -> RefOr<Schema> {
        text(
            "solar YYYY-MM-DD or MM-DD; lunar 农历YYYY-MM-DD, 农历MM-DD, 农历闰MM-DD for a leap month",
            "农历1970-08-15",
        )
    }
}
impl ToSchema for Birthday {}
