//! Which channel and gift suit a greeting (000 article 3, 节日拜访): by the
//! customer's business stage and the contact's level.
//!
//! How the two combine — each gives a ceiling on how personal the contact
//! is, and the suggestion is the lower of the two:
//!
//! | closeness      | stage (业务阶段)                 | level (职务)                          |
//! |----------------|----------------------------------|---------------------------------------|
//! | remote         | new 新开发: SMS / call           | executor 执行人员: SMS / call         |
//! | visit          | intent 意向: visit               | decision maker 决策者: respectful visit |
//! | visit or meal  | existing 老客户: visit or meal   | person in charge 负责人: visit, meal  |
//!
//! So a new customer's decision maker gets a call, an existing customer's
//! executor an SMS or call, an intent customer's person in charge a visit.
//!
//! The gift follows the stage: new → a small company gift by mail (邮寄公司
//! 订制小礼品); intent → a light gift, a local specialty (地方特产); existing
//! → a gift to their hobbies (投其所好). An executor gets at most a small
//! gift. The gift travels with the contact: mailed when the contact is
//! remote, brought on a visit — except to a decision maker, whose gift is
//! never handed over at the workplace (put in the car or an agreed place,
//! told afterwards). A company whose policy forbids gifts (单位禁止收礼) gets
//! no gift suggestion at all.

use serde::{Deserialize, Serialize};

/// The three business stages of 000 article 3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BusinessStage {
    /// 新开发客户
    New,
    /// 意向购买客户
    Intent,
    /// 老客户
    Existing,
}

/// A contact's level inside the customer company (000 article 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContactLevel {
    /// 执行人员
    Executor,
    /// 负责人
    PersonInCharge,
    /// 决策者
    DecisionMaker,
}

/// A way to get in touch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Sms,
    Call,
    Visit,
    Meal,
}

/// What kind of gift.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GiftKind {
    /// A small company gift (公司订制小礼品).
    Small,
    /// A light gift, a local specialty (地方特产).
    LocalSpecialty,
    /// Something matching the contact's hobbies (投其所好).
    Hobby,
}

/// How the gift reaches the contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GiftDelivery {
    Mail,
    InPerson,
    /// Not at the workplace: the car or an agreed place, told afterwards.
    AwayFromWorkplace,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct GiftSuggestion {
    pub kind: GiftKind,
    pub delivery: GiftDelivery,
}

/// The suggestion for one greeting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ChannelSuggestion {
    /// Channels in order of preference (two at most).
    pub channels: ChannelSet,
    /// `true` for a decision maker: words of respect (注意礼节), no business
    /// small talk.
    pub respectful: bool,
    /// `None` when the company forbids gifts.
    pub gift: Option<GiftSuggestion>,
}

/// One or two channels, copyable and allocation-free.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ChannelSet(pub Channel, pub Option<Channel>);

impl ChannelSet {
    pub fn iter(self) -> impl Iterator<Item = Channel> {
        std::iter::once(self.0).chain(self.1)
    }
    pub fn contains(self, c: Channel) -> bool {
        self.iter().any(|x| x == c)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Closeness {
    Remote,
    Visit,
    VisitOrMeal,
}

fn stage_ceiling(stage: BusinessStage) -> Closeness {
    match stage {
        BusinessStage::New => Closeness::Remote,
        BusinessStage::Intent => Closeness::Visit,
        BusinessStage::Existing => Closeness::VisitOrMeal,
    }
}

fn level_ceiling(level: ContactLevel) -> Closeness {
    match level {
        ContactLevel::Executor => Closeness::Remote,
        // 000: a decision maker "may have no time for your dinner".
        ContactLevel::DecisionMaker => Closeness::Visit,
        ContactLevel::PersonInCharge => Closeness::VisitOrMeal,
    }
}

/// The channel and gift for greeting a contact of `level` (or the customer
/// itself, `None`, when it has no contacts: the stage alone decides) at a
/// customer in `stage`. See the module documentation for the rule.
pub fn suggest(
    stage: BusinessStage,
    level: Option<ContactLevel>,
    forbids_gifts: bool,
) -> ChannelSuggestion {
    let closeness = match level {
        Some(l) => stage_ceiling(stage).min(level_ceiling(l)),
        None => stage_ceiling(stage),
    };
    let channels = match closeness {
        Closeness::Remote => ChannelSet(Channel::Call, Some(Channel::Sms)),
        Closeness::Visit => ChannelSet(Channel::Visit, None),
        Closeness::VisitOrMeal => ChannelSet(Channel::Visit, Some(Channel::Meal)),
    };
    let gift = (!forbids_gifts).then(|| {
        let kind = match (stage, level) {
            (_, Some(ContactLevel::Executor)) | (BusinessStage::New, _) => GiftKind::Small,
            (BusinessStage::Intent, _) => GiftKind::LocalSpecialty,
            (BusinessStage::Existing, _) => GiftKind::Hobby,
        };
        let delivery = match (level, closeness) {
            (Some(ContactLevel::DecisionMaker), _) => GiftDelivery::AwayFromWorkplace,
            (_, Closeness::Remote) => GiftDelivery::Mail,
            _ => GiftDelivery::InPerson,
        };
        GiftSuggestion { kind, delivery }
    });
    ChannelSuggestion {
        channels,
        respectful: level == Some(ContactLevel::DecisionMaker),
        gift,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use BusinessStage::*;
    use Channel::*;
    use ContactLevel::*;

    #[test]
    fn the_nine_cells() {
        let ch = |s, l| suggest(s, Some(l), false).channels;
        // New customers: remote whatever the level.
        for l in [Executor, PersonInCharge, DecisionMaker] {
            assert_eq!(ch(New, l), ChannelSet(Call, Some(Sms)));
        }
        assert_eq!(ch(Intent, Executor), ChannelSet(Call, Some(Sms)));
        assert_eq!(ch(Intent, PersonInCharge), ChannelSet(Visit, None));
        assert_eq!(ch(Intent, DecisionMaker), ChannelSet(Visit, None));
        assert_eq!(ch(Existing, Executor), ChannelSet(Call, Some(Sms)));
        assert_eq!(ch(Existing, PersonInCharge), ChannelSet(Visit, Some(Meal)));
        assert_eq!(ch(Existing, DecisionMaker), ChannelSet(Visit, None));
    }

    #[test]
    fn gifts() {
        let g = |s, l| suggest(s, l, false).gift.unwrap();
        assert_eq!(
            g(New, Some(PersonInCharge)),
            GiftSuggestion {
                kind: GiftKind::Small,
                delivery: GiftDelivery::Mail
            }
        );
        assert_eq!(
            g(Intent, Some(PersonInCharge)),
            GiftSuggestion {
                kind: GiftKind::LocalSpecialty,
                delivery: GiftDelivery::InPerson
            }
        );
        assert_eq!(
            g(Existing, Some(PersonInCharge)),
            GiftSuggestion {
                kind: GiftKind::Hobby,
                delivery: GiftDelivery::InPerson
            }
        );
        assert_eq!(
            g(Existing, Some(Executor)),
            GiftSuggestion {
                kind: GiftKind::Small,
                delivery: GiftDelivery::Mail
            }
        );
        // A decision maker's gift is never handed over at the workplace.
        for s in [New, Intent, Existing] {
            assert_eq!(
                g(s, Some(DecisionMaker)).delivery,
                GiftDelivery::AwayFromWorkplace
            );
            assert!(suggest(s, Some(DecisionMaker), false).respectful);
        }
        // Customer without contacts: the stage alone.
        assert_eq!(
            suggest(Existing, None, false).channels,
            ChannelSet(Visit, Some(Meal))
        );
    }

    #[test]
    fn no_gift_where_gifts_are_forbidden() {
        for s in [New, Intent, Existing] {
            for l in [
                None,
                Some(Executor),
                Some(PersonInCharge),
                Some(DecisionMaker),
            ] {
                assert_eq!(suggest(s, l, true).gift, None);
            }
        }
    }
}
