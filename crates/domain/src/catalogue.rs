//! What the city network looks like to the fare system: cities, carriers, routes, vehicles,
//! rider categories and fare rules. Fares are data (a catalogue file and the admin API), never
//! code: this module only decides which rule applies.

use std::fmt;

use crate::money::Tenge;

/// Catalogue identifiers are short slugs (`astana`, `astana-10e`): lowercase Latin, digits, `-`.
pub const SLUG_CHARS_MAX: usize = 48;
/// A ride ticket lives at most this long whatever the route says.
pub const RIDE_MINUTES_MAX: u32 = 6 * 60;
/// Suburban zones are numbered from 1.
pub const ZONE_MAX: u8 = 9;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogueError {
    #[error(
        "{what} `{value}` is not a valid id (lowercase latin letters, digits and '-', at most 48)"
    )]
    BadSlug { what: &'static str, value: String },
    #[error("unknown route kind `{0}` (regular, express, suburban)")]
    BadRouteKind(String),
    #[error("unknown rider category `{0}`")]
    BadRiderCategory(String),
    #[error("zone {0} is out of range 1..=9")]
    BadZone(u32),
}

macro_rules! slug_id {
    ($name:ident, $what:literal) => {
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            pub fn parse(text: &str) -> Result<$name, CatalogueError> {
                let ok = !text.is_empty()
                    && text.len() <= SLUG_CHARS_MAX
                    && text
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
                if ok {
                    Ok($name(text.to_owned()))
                } else {
                    Err(CatalogueError::BadSlug {
                        what: $what,
                        value: text.chars().take(64).collect(),
                    })
                }
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

slug_id!(CityId, "city id");
slug_id!(CarrierId, "carrier id");
slug_id!(RouteId, "route id");

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RouteKind {
    Regular,
    Express,
    Suburban,
}

impl RouteKind {
    pub fn parse(text: &str) -> Result<RouteKind, CatalogueError> {
        match text {
            "regular" => Ok(RouteKind::Regular),
            "express" => Ok(RouteKind::Express),
            "suburban" => Ok(RouteKind::Suburban),
            other => Err(CatalogueError::BadRouteKind(
                other.chars().take(32).collect(),
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RouteKind::Regular => "regular",
            RouteKind::Express => "express",
            RouteKind::Suburban => "suburban",
        }
    }
}

/// Who rides: the GTFS Fares v2 rider categories the published fares distinguish.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RiderCategory {
    Regular,
    School,
    Student,
    Pensioner,
    Disability,
    LargeFamily,
}

impl RiderCategory {
    pub const ALL: [RiderCategory; 6] = [
        RiderCategory::Regular,
        RiderCategory::School,
        RiderCategory::Student,
        RiderCategory::Pensioner,
        RiderCategory::Disability,
        RiderCategory::LargeFamily,
    ];

    pub fn parse(text: &str) -> Result<RiderCategory, CatalogueError> {
        RiderCategory::ALL
            .into_iter()
            .find(|c| c.as_str() == text)
            .ok_or_else(|| CatalogueError::BadRiderCategory(text.chars().take(32).collect()))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RiderCategory::Regular => "regular",
            RiderCategory::School => "school",
            RiderCategory::Student => "student",
            RiderCategory::Pensioner => "pensioner",
            RiderCategory::Disability => "disability",
            RiderCategory::LargeFamily => "large_family",
        }
    }

    /// Preferential categories need documents approved at the office.
    pub fn is_preferential(self) -> bool {
        !matches!(self, RiderCategory::Regular | RiderCategory::School)
    }
}

/// A suburban fare zone, 1..=9 (Astana suburbs: 1 to 4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Zone(u8);

impl Zone {
    pub fn new(number: u32) -> Result<Zone, CatalogueError> {
        match u8::try_from(number) {
            Ok(n) if (1..=ZONE_MAX).contains(&n) => Ok(Zone(n)),
            _ => Err(CatalogueError::BadZone(number)),
        }
    }

    pub fn number(self) -> u8 {
        self.0
    }
}

/// A fare rule. A rule that names a route beats one that names a route kind, which beats one
/// for the whole city; a rule for the rider's category beats one for any category. Suburban
/// rules name the destination zone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FareRule {
    pub city: CityId,
    pub route: Option<RouteId>,
    pub route_kind: Option<RouteKind>,
    pub rider_category: Option<RiderCategory>,
    pub zone: Option<Zone>,
    pub amount: Tenge,
}

/// What a ride is priced on.
#[derive(Clone, Debug)]
pub struct FareQuery<'a> {
    pub city: &'a CityId,
    pub route: &'a RouteId,
    pub route_kind: RouteKind,
    pub rider_category: RiderCategory,
    pub zone: Option<Zone>,
}

/// The fare of a ride: the most specific matching rule, or `None` when nothing matches.
pub fn fare<'r>(
    rules: impl IntoIterator<Item = &'r FareRule>,
    query: &FareQuery<'_>,
) -> Option<Tenge> {
    rules
        .into_iter()
        .filter(|rule| &rule.city == query.city)
        .filter(|rule| rule.route.as_ref().is_none_or(|r| r == query.route))
        .filter(|rule| rule.route_kind.is_none_or(|k| k == query.route_kind))
        .filter(|rule| {
            rule.rider_category
                .is_none_or(|c| c == query.rider_category)
        })
        .filter(|rule| match query.route_kind {
            RouteKind::Suburban => query.zone.is_some() && rule.zone == query.zone,
            RouteKind::Regular | RouteKind::Express => rule.zone.is_none(),
        })
        .max_by_key(|rule| {
            let place = if rule.route.is_some() {
                2
            } else if rule.route_kind.is_some() {
                1
            } else {
                0
            };
            (place, rule.rider_category.is_some())
        })
        .map(|rule| rule.amount)
}

/// The zones a zone-priced route can be ridden to and their fares, in zone order: what a
/// passenger who did not name a zone is offered.
pub fn zone_fares<'r>(
    rules: impl IntoIterator<Item = &'r FareRule> + Clone,
    query: &FareQuery<'_>,
) -> Vec<(Zone, Tenge)> {
    let mut zones: Vec<Zone> = rules
        .clone()
        .into_iter()
        .filter(|rule| &rule.city == query.city)
        .filter_map(|rule| rule.zone)
        .collect();
    zones.sort();
    zones.dedup();
    zones
        .into_iter()
        .filter_map(|zone| {
            let priced = FareQuery {
                zone: Some(zone),
                ..query.clone()
            };
            fare(rules.clone(), &priced).map(|amount| (zone, amount))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(
        city: &str,
        kind: Option<RouteKind>,
        category: Option<RiderCategory>,
        zone: Option<u32>,
        tenge: i64,
    ) -> FareRule {
        FareRule {
            city: CityId::parse(city).unwrap(),
            route: None,
            route_kind: kind,
            rider_category: category,
            zone: zone.map(|z| Zone::new(z).unwrap()),
            amount: Tenge::from_whole(tenge),
        }
    }

    #[test]
    fn the_most_specific_rule_wins() {
        let rules = vec![
            rule("astana", None, None, None, 90),
            rule("astana", Some(RouteKind::Express), None, None, 180),
            rule("astana", Some(RouteKind::Suburban), None, Some(1), 90),
            rule("astana", Some(RouteKind::Suburban), None, Some(3), 300),
            rule("almaty", None, None, None, 80),
            rule("almaty", None, Some(RiderCategory::Pensioner), None, 40),
        ];
        let astana = CityId::parse("astana").unwrap();
        let almaty = CityId::parse("almaty").unwrap();
        let route = RouteId::parse("r").unwrap();
        let q = |city, kind, category, zone: Option<u32>| FareQuery {
            city,
            route: &route,
            route_kind: kind,
            rider_category: category,
            zone: zone.map(|z| Zone::new(z).unwrap()),
        };
        let regular = RiderCategory::Regular;
        assert_eq!(
            fare(&rules, &q(&astana, RouteKind::Regular, regular, None)),
            Some(Tenge::from_whole(90))
        );
        assert_eq!(
            fare(&rules, &q(&astana, RouteKind::Express, regular, None)),
            Some(Tenge::from_whole(180))
        );
        assert_eq!(
            fare(&rules, &q(&astana, RouteKind::Suburban, regular, Some(3))),
            Some(Tenge::from_whole(300))
        );
        assert_eq!(
            fare(&rules, &q(&astana, RouteKind::Suburban, regular, Some(2))),
            None
        );
        assert_eq!(
            fare(&rules, &q(&astana, RouteKind::Suburban, regular, None)),
            None
        );
        assert_eq!(
            fare(
                &rules,
                &q(&almaty, RouteKind::Regular, RiderCategory::Pensioner, None)
            ),
            Some(Tenge::from_whole(40))
        );
        assert_eq!(
            fare(&rules, &q(&almaty, RouteKind::Regular, regular, None)),
            Some(Tenge::from_whole(80))
        );
    }

    #[test]
    fn zone_fares_list_every_priced_zone_in_order() {
        let rules = vec![
            rule("astana", None, None, None, 90),
            rule("astana", Some(RouteKind::Suburban), None, Some(3), 300),
            rule("astana", Some(RouteKind::Suburban), None, Some(1), 90),
            rule("almaty", Some(RouteKind::Suburban), None, Some(2), 150),
        ];
        let astana = CityId::parse("astana").unwrap();
        let route = RouteId::parse("r").unwrap();
        let query = FareQuery {
            city: &astana,
            route: &route,
            route_kind: RouteKind::Suburban,
            rider_category: RiderCategory::Regular,
            zone: None,
        };
        let zones: Vec<(u8, i64)> = zone_fares(&rules, &query)
            .into_iter()
            .map(|(z, t)| (z.number(), t.tiyn() / 100))
            .collect();
        assert_eq!(zones, [(1, 90), (3, 300)]);
    }

    #[test]
    fn ids_are_checked() {
        assert!(CityId::parse("astana").is_ok());
        assert!(CityId::parse("Astana").is_err());
        assert!(CityId::parse("").is_err());
        assert!(Zone::new(0).is_err());
        assert!(Zone::new(4).is_ok());
        assert!(RiderCategory::parse("pensioner").unwrap().is_preferential());
    }
}
