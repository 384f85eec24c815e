//! The catalogue file: the JSON document operators edit (`smsbus catalogue load`,
//! `PUT /v1/admin/catalogue`) and the one the stored catalogue is written back as
//! (`GET /v1/admin/catalogue`), as a pure codec. [`decode`] reads the text into a
//! [`CatalogueFile`] — amounts parsed into [`Tenge`], plates folded into [`PlateNumber`], a
//! transport code or plate given twice refused — and [`encode`] writes one back; the service
//! takes and gives the typed value, never the text.
//!
//! The serde types are private to this module (no domain type is `Serialize`): the document's
//! shape is written here once, for both directions. What the file names is checked further
//! (ids, references, prices) only once merged with the stored catalogue, by the service.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{PlateNumber, Tenge};

/// A catalogue file as read: everything it names, per city.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CatalogueFile {
    /// Number prefix → operator id; a file that gives any replaces the whole table.
    pub operator_prefixes: BTreeMap<String, String>,
    pub cities: Vec<CityEntry>,
}

/// One city with its fares, fare rules, carriers, routes and vehicles.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CityEntry {
    pub id: String,
    pub name_kk: String,
    pub name_ru: String,
    pub name_en: String,
    pub timezone: String,
    pub utc_offset_minutes: i64,
    pub fares: Vec<FareEntry>,
    /// The day's card rides never cost more than this in all (per rider category, or for all).
    pub fare_caps: Vec<FareCapEntry>,
    /// A ride on another route soon after a full fare costs less.
    pub transfer: Option<TransferEntry>,
    pub carriers: Vec<CarrierEntry>,
    pub routes: Vec<RouteEntry>,
    pub vehicles: Vec<VehicleEntry>,
}

/// A fare rule: the most specific one that matches a ride prices it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FareEntry {
    pub route: Option<String>,
    pub route_kind: Option<String>,
    pub rider_category: Option<String>,
    pub zone: Option<i64>,
    pub amount: Tenge,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FareCapEntry {
    /// `None`: every rider category.
    pub rider_category: Option<String>,
    pub daily: Tenge,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransferEntry {
    pub window_minutes: i64,
    pub amount: Tenge,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CarrierEntry {
    pub id: String,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteEntry {
    pub id: String,
    pub number: String,
    pub name: String,
    pub kind: String,
    pub max_ride_minutes: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VehicleEntry {
    pub transport_code: String,
    pub plate: PlateNumber,
    pub carrier: String,
    pub route: String,
    /// Absent in the file: in service.
    pub active: bool,
}

/// Why a catalogue file was refused: what is wrong, and where.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CatalogueFileError(pub String);

/// Reads a catalogue file. Amounts are decimal tenge strings (`"90"`, `"90.50"`); an unknown
/// field, a malformed amount or plate, or a transport code or plate given twice is refused
/// with where it is (`astana.fares[2].amount: …`).
pub fn decode(json: &str) -> Result<CatalogueFile, CatalogueFileError> {
    let invalid = |detail: String| CatalogueFileError(detail);
    let file: wire::File =
        serde_json::from_str(json).map_err(|e| invalid(format!("catalogue file: {e}")))?;
    let mut cities = Vec::with_capacity(file.cities.len());
    let mut vehicles_seen: Vec<(String, PlateNumber)> = Vec::new();
    for city in file.cities {
        let mut fares = Vec::with_capacity(city.fares.len());
        for (i, f) in city.fares.into_iter().enumerate() {
            let amount = Tenge::parse_decimal(&f.amount)
                .map_err(|e| invalid(format!("{}.fares[{i}].amount: {e}", city.id)))?;
            fares.push(FareEntry {
                route: f.route,
                route_kind: f.route_kind,
                rider_category: f.rider_category,
                zone: f.zone,
                amount,
            });
        }
        let mut fare_caps = Vec::with_capacity(city.fare_caps.len());
        for (i, cap) in city.fare_caps.into_iter().enumerate() {
            let daily = Tenge::parse_decimal(&cap.daily)
                .map_err(|e| invalid(format!("{}.fare_caps[{i}].daily: {e}", city.id)))?;
            fare_caps.push(FareCapEntry {
                rider_category: cap.rider_category,
                daily,
            });
        }
        let transfer = match city.transfer {
            Some(t) => Some(TransferEntry {
                window_minutes: t.window_minutes,
                amount: Tenge::parse_decimal(&t.amount)
                    .map_err(|e| invalid(format!("{}.transfer.amount: {e}", city.id)))?,
            }),
            None => None,
        };
        let mut vehicles = Vec::with_capacity(city.vehicles.len());
        for v in city.vehicles {
            let plate = PlateNumber::parse(&v.plate).map_err(|e| {
                invalid(format!(
                    "vehicle {}: plate {}: {e}",
                    v.transport_code, v.plate
                ))
            })?;
            if vehicles_seen
                .iter()
                .any(|(code, _)| *code == v.transport_code)
            {
                return Err(invalid(format!(
                    "vehicle {}: the transport code appears twice in the file",
                    v.transport_code
                )));
            }
            if let Some((code, _)) = vehicles_seen.iter().find(|(_, seen)| *seen == plate) {
                return Err(invalid(format!(
                    "vehicle {}: plate {} is vehicle {code}'s already",
                    v.transport_code, v.plate
                )));
            }
            vehicles_seen.push((v.transport_code.clone(), plate.clone()));
            vehicles.push(VehicleEntry {
                transport_code: v.transport_code,
                plate,
                carrier: v.carrier,
                route: v.route,
                active: v.active,
            });
        }
        cities.push(CityEntry {
            id: city.id,
            name_kk: city.name.kk,
            name_ru: city.name.ru,
            name_en: city.name.en,
            timezone: city.timezone,
            utc_offset_minutes: city.utc_offset_minutes,
            fares,
            fare_caps,
            transfer,
            carriers: city
                .carriers
                .into_iter()
                .map(|c| CarrierEntry {
                    id: c.id,
                    name: c.name,
                })
                .collect(),
            routes: city
                .routes
                .into_iter()
                .map(|r| RouteEntry {
                    id: r.id,
                    number: r.number,
                    name: r.name,
                    kind: r.kind,
                    max_ride_minutes: r.max_ride_minutes,
                })
                .collect(),
            vehicles,
        });
    }
    Ok(CatalogueFile {
        operator_prefixes: file.operator_prefixes,
        cities,
    })
}

/// Writes a catalogue file that [`decode`] reads back as `file`: compact JSON, every object's
/// keys in alphabetical order, a city's `fare_caps` and `transfer` only when it has them, a
/// fare's and a cap's optional fields only when set.
pub fn encode(file: &CatalogueFile) -> String {
    let document = wire::File {
        operator_prefixes: file.operator_prefixes.clone(),
        cities: file.cities.iter().map(wire::City::of).collect(),
    };
    // Through a `Value`, whose objects keep their keys sorted, so the text does not depend on
    // the order fields are declared in.
    serde_json::to_value(&document)
        .map(|value| value.to_string())
        .unwrap_or_default()
}

/// The document's shape, both directions.
mod wire {
    use std::collections::BTreeMap;

    use super::{CityEntry, Deserialize, Serialize};

    #[derive(Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub(super) struct File {
        #[serde(default)]
        pub(super) operator_prefixes: BTreeMap<String, String>,
        #[serde(default)]
        pub(super) cities: Vec<City>,
    }

    #[derive(Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub(super) struct City {
        pub(super) id: String,
        pub(super) name: Names,
        pub(super) timezone: String,
        pub(super) utc_offset_minutes: i64,
        #[serde(default)]
        pub(super) fares: Vec<Fare>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub(super) fare_caps: Vec<FareCap>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub(super) transfer: Option<Transfer>,
        #[serde(default)]
        pub(super) carriers: Vec<Carrier>,
        #[serde(default)]
        pub(super) routes: Vec<Route>,
        #[serde(default)]
        pub(super) vehicles: Vec<Vehicle>,
    }

    #[derive(Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub(super) struct Names {
        pub(super) kk: String,
        pub(super) ru: String,
        pub(super) en: String,
    }

    #[derive(Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub(super) struct Fare {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub(super) route: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub(super) route_kind: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub(super) rider_category: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub(super) zone: Option<i64>,
        pub(super) amount: String,
    }

    #[derive(Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub(super) struct FareCap {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub(super) rider_category: Option<String>,
        pub(super) daily: String,
    }

    #[derive(Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub(super) struct Transfer {
        pub(super) window_minutes: i64,
        pub(super) amount: String,
    }

    #[derive(Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub(super) struct Carrier {
        pub(super) id: String,
        pub(super) name: String,
    }

    #[derive(Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub(super) struct Route {
        pub(super) id: String,
        pub(super) number: String,
        pub(super) name: String,
        pub(super) kind: String,
        pub(super) max_ride_minutes: i64,
    }

    #[derive(Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub(super) struct Vehicle {
        pub(super) transport_code: String,
        pub(super) plate: String,
        pub(super) carrier: String,
        pub(super) route: String,
        #[serde(default = "active_by_default")]
        pub(super) active: bool,
    }

    fn active_by_default() -> bool {
        true
    }

    impl City {
        pub(super) fn of(c: &CityEntry) -> City {
            City {
                id: c.id.clone(),
                name: Names {
                    kk: c.name_kk.clone(),
                    ru: c.name_ru.clone(),
                    en: c.name_en.clone(),
                },
                timezone: c.timezone.clone(),
                utc_offset_minutes: c.utc_offset_minutes,
                fares: c
                    .fares
                    .iter()
                    .map(|f| Fare {
                        route: f.route.clone(),
                        route_kind: f.route_kind.clone(),
                        rider_category: f.rider_category.clone(),
                        zone: f.zone,
                        amount: f.amount.to_decimal(),
                    })
                    .collect(),
                fare_caps: c
                    .fare_caps
                    .iter()
                    .map(|cap| FareCap {
                        rider_category: cap.rider_category.clone(),
                        daily: cap.daily.to_decimal(),
                    })
                    .collect(),
                transfer: c.transfer.as_ref().map(|t| Transfer {
                    window_minutes: t.window_minutes,
                    amount: t.amount.to_decimal(),
                }),
                carriers: c
                    .carriers
                    .iter()
                    .map(|k| Carrier {
                        id: k.id.clone(),
                        name: k.name.clone(),
                    })
                    .collect(),
                routes: c
                    .routes
                    .iter()
                    .map(|r| Route {
                        id: r.id.clone(),
                        number: r.number.clone(),
                        name: r.name.clone(),
                        kind: r.kind.clone(),
                        max_ride_minutes: r.max_ride_minutes,
                    })
                    .collect(),
                vehicles: c
                    .vehicles
                    .iter()
                    .map(|v| Vehicle {
                        transport_code: v.transport_code.clone(),
                        plate: v.plate.as_str().to_owned(),
                        carrier: v.carrier.clone(),
                        route: v.route.clone(),
                        active: v.active,
                    })
                    .collect(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"{
      "operator_prefixes": {"7701": "beeline"},
      "cities": [{
        "id": "astana", "name": {"kk": "Астана", "ru": "Астана", "en": "Astana"},
        "timezone": "Asia/Almaty", "utc_offset_minutes": 300,
        "fares": [{"amount": "90"}, {"route_kind": "suburban", "zone": 2, "amount": "250.50"}],
        "fare_caps": [{"daily": "300"}],
        "transfer": {"window_minutes": 40, "amount": "0"},
        "carriers": [{"id": "park-1", "name": "Park 1"}],
        "routes": [{"id": "astana-10", "number": "10", "name": "Ten", "kind": "regular", "max_ride_minutes": 90}],
        "vehicles": [{"transport_code": "10101", "plate": "123abc01", "carrier": "park-1", "route": "astana-10"}]
      }]
    }"#;

    #[test]
    fn a_file_reads_typed_and_writes_back_what_it_read() {
        let file = decode(FILE).unwrap();
        let city = &file.cities[0];
        assert_eq!(city.fares[1].amount, Tenge::from_tiyn(25_050));
        assert_eq!(city.fare_caps[0].daily, Tenge::from_tiyn(30_000));
        assert_eq!(
            city.vehicles[0].plate,
            PlateNumber::parse("123 ABC 01").unwrap()
        );
        assert!(city.vehicles[0].active);
        let text = encode(&file);
        assert_eq!(decode(&text).unwrap(), file);
        // Keys sorted, optional parts only where set, amounts as decimals, plates folded.
        assert!(text.starts_with(r#"{"cities":[{"carriers":[{"id":"park-1","name":"Park 1"}],"fare_caps":[{"daily":"300.00"}],"fares":[{"amount":"90.00"},"#), "{text}");
        assert!(
            text.contains(r#""transfer":{"amount":"0.00","window_minutes":40}"#),
            "{text}"
        );
        let plate = PlateNumber::parse("123abc01").unwrap();
        assert!(
            text.contains(&format!(r#""plate":"{}""#, plate.as_str())),
            "{text}"
        );
        let mut bare = file.clone();
        bare.cities[0].fare_caps.clear();
        bare.cities[0].transfer = None;
        let text = encode(&bare);
        assert!(
            !text.contains("fare_caps") && !text.contains("transfer"),
            "{text}"
        );
    }

    #[test]
    fn a_file_is_refused_with_where_it_is_wrong() {
        let refused = |text: &str| decode(text).unwrap_err().0;
        assert!(refused("{").starts_with("catalogue file: "));
        assert!(refused(r#"{"cities": [], "colour": "red"}"#).contains("unknown field"));
        assert_eq!(
            refused(&FILE.replace(r#""250.50""#, r#""2,5""#)),
            "astana.fares[1].amount: ".to_owned()
                + &Tenge::parse_decimal("2,5").unwrap_err().to_string()
        );
        assert!(
            refused(&FILE.replace(r#""daily": "300""#, r#""daily": "x""#))
                .starts_with("astana.fare_caps[0].daily: ")
        );
        assert!(
            refused(&FILE.replace(r#""amount": "0""#, r#""amount": "-""#))
                .starts_with("astana.transfer.amount: ")
        );
        let twice = FILE.replace(
            r#""route": "astana-10"}]"#,
            r#""route": "astana-10"}, {"transport_code": "10101", "plate": "777zzz01", "carrier": "park-1", "route": "astana-10"}]"#,
        );
        assert_eq!(
            refused(&twice),
            "vehicle 10101: the transport code appears twice in the file"
        );
        let same_plate = twice.replace(
            r#""transport_code": "10101", "plate": "777zzz01""#,
            r#""transport_code": "10102", "plate": "123 ABC 01""#,
        );
        assert_eq!(
            refused(&same_plate),
            "vehicle 10102: plate 123 ABC 01 is vehicle 10101's already"
        );
    }
}
