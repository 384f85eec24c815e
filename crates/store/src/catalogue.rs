//! Rows of the catalogue: cities, carriers, routes, vehicles, fare rules, operator prefixes.

use crate::db::{Executor, Row, query};

use crate::Result;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CityRow {
    pub id: String,
    pub name_kk: String,
    pub name_ru: String,
    pub name_en: String,
    pub timezone: String,
    pub utc_offset_minutes: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CarrierRow {
    pub id: String,
    pub city_id: String,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteRow {
    pub id: String,
    pub city_id: String,
    pub number: String,
    pub name: String,
    pub kind: String,
    pub max_ride_minutes: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VehicleRow {
    pub transport_code: String,
    pub plate: String,
    pub carrier_id: String,
    pub route_id: String,
    pub active: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FareRuleRow {
    pub city_id: String,
    pub route_id: Option<String>,
    pub route_kind: Option<String>,
    pub rider_category: Option<String>,
    pub zone: Option<i64>,
    pub amount_tiyn: i64,
}

/// One of a city's fare rules beyond the fare table: `daily_cap` or `transfer`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FarePolicyRow {
    pub city_id: String,
    pub rule: String,
    pub rider_category: Option<String>,
    pub window_minutes: Option<i64>,
    pub amount_tiyn: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrefixRow {
    pub prefix: String,
    pub operator: String,
}

/// The whole catalogue, as loaded at start and after every change.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CatalogueRows {
    pub cities: Vec<CityRow>,
    pub carriers: Vec<CarrierRow>,
    pub routes: Vec<RouteRow>,
    pub vehicles: Vec<VehicleRow>,
    pub fare_rules: Vec<FareRuleRow>,
    pub fare_policies: Vec<FarePolicyRow>,
    pub prefixes: Vec<PrefixRow>,
}

/// Inserts or updates every row given. Fare rules of the cities given are replaced as a whole,
/// and so is the prefix table when prefixes are given, so a file is the truth for what it names.
pub async fn upsert(conn: &mut dyn Executor, rows: &CatalogueRows) -> Result<()> {
    for c in &rows.cities {
        query(
            "INSERT INTO cities (id, name_kk, name_ru, name_en, timezone, utc_offset_minutes) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (id) DO UPDATE SET name_kk = excluded.name_kk, name_ru = excluded.name_ru, name_en = excluded.name_en, \
             timezone = excluded.timezone, utc_offset_minutes = excluded.utc_offset_minutes",
        )
        .bind(&c.id)
        .bind(&c.name_kk)
        .bind(&c.name_ru)
        .bind(&c.name_en)
        .bind(&c.timezone)
        .bind(c.utc_offset_minutes)
        .execute(conn)
        .await?;
    }
    for c in &rows.carriers {
        query(
            "INSERT INTO carriers (id, city_id, name) VALUES ($1, $2, $3) \
             ON CONFLICT (id) DO UPDATE SET city_id = excluded.city_id, name = excluded.name",
        )
        .bind(&c.id)
        .bind(&c.city_id)
        .bind(&c.name)
        .execute(conn)
        .await?;
    }
    for r in &rows.routes {
        query(
            "INSERT INTO routes (id, city_id, number, name, kind, max_ride_minutes) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (id) DO UPDATE SET city_id = excluded.city_id, number = excluded.number, name = excluded.name, \
             kind = excluded.kind, max_ride_minutes = excluded.max_ride_minutes",
        )
        .bind(&r.id)
        .bind(&r.city_id)
        .bind(&r.number)
        .bind(&r.name)
        .bind(&r.kind)
        .bind(r.max_ride_minutes)
        .execute(conn)
        .await?;
    }
    for v in &rows.vehicles {
        upsert_vehicle(conn, v).await?;
    }
    for city in rows.cities.iter().map(|c| &c.id) {
        query("DELETE FROM fare_rules WHERE city_id = $1")
            .bind(city)
            .execute(conn)
            .await?;
        query("DELETE FROM fare_policies WHERE city_id = $1")
            .bind(city)
            .execute(conn)
            .await?;
    }
    for p in &rows.fare_policies {
        query(
            "INSERT INTO fare_policies (city_id, rule, rider_category, window_minutes, amount_tiyn) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&p.city_id)
        .bind(&p.rule)
        .bind(&p.rider_category)
        .bind(p.window_minutes)
        .bind(p.amount_tiyn)
        .execute(conn)
        .await?;
    }
    for f in &rows.fare_rules {
        query(
            "INSERT INTO fare_rules (city_id, route_id, route_kind, rider_category, zone, amount_tiyn) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&f.city_id)
        .bind(&f.route_id)
        .bind(&f.route_kind)
        .bind(&f.rider_category)
        .bind(f.zone)
        .bind(f.amount_tiyn)
        .execute(conn)
        .await?;
    }
    if !rows.prefixes.is_empty() {
        query("DELETE FROM operator_prefixes").execute(conn).await?;
        for p in &rows.prefixes {
            query("INSERT INTO operator_prefixes (prefix, operator) VALUES ($1, $2)")
                .bind(&p.prefix)
                .bind(&p.operator)
                .execute(conn)
                .await?;
        }
    }
    Ok(())
}

pub async fn upsert_vehicle(conn: &mut dyn Executor, v: &VehicleRow) -> Result<()> {
    query(
        "INSERT INTO vehicles (transport_code, plate, carrier_id, route_id, active) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (transport_code) DO UPDATE SET plate = excluded.plate, carrier_id = excluded.carrier_id, \
         route_id = excluded.route_id, active = excluded.active",
    )
    .bind(&v.transport_code)
    .bind(&v.plate)
    .bind(&v.carrier_id)
    .bind(&v.route_id)
    .bind(i64::from(v.active))
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn load(conn: &mut dyn Executor) -> Result<CatalogueRows> {
    let cities = query("SELECT id, name_kk, name_ru, name_en, timezone, utc_offset_minutes FROM cities ORDER BY id")
        .try_map(|r: Row| {
            Ok(CityRow {
                id: r.try_get(0)?,
                name_kk: r.try_get(1)?,
                name_ru: r.try_get(2)?,
                name_en: r.try_get(3)?,
                timezone: r.try_get(4)?,
                utc_offset_minutes: r.try_get(5)?,
            })
        })
        .fetch_all(conn)
        .await?;
    let carriers = query("SELECT id, city_id, name FROM carriers ORDER BY id")
        .try_map(|r: Row| {
            Ok(CarrierRow {
                id: r.try_get(0)?,
                city_id: r.try_get(1)?,
                name: r.try_get(2)?,
            })
        })
        .fetch_all(conn)
        .await?;
    let routes =
        query("SELECT id, city_id, number, name, kind, max_ride_minutes FROM routes ORDER BY id")
            .try_map(|r: Row| {
                Ok(RouteRow {
                    id: r.try_get(0)?,
                    city_id: r.try_get(1)?,
                    number: r.try_get(2)?,
                    name: r.try_get(3)?,
                    kind: r.try_get(4)?,
                    max_ride_minutes: r.try_get(5)?,
                })
            })
            .fetch_all(conn)
            .await?;
    let vehicles = query("SELECT transport_code, plate, carrier_id, route_id, active FROM vehicles ORDER BY transport_code")
        .try_map(|r: Row| {
            Ok(VehicleRow {
                transport_code: r.try_get(0)?,
                plate: r.try_get(1)?,
                carrier_id: r.try_get(2)?,
                route_id: r.try_get(3)?,
                active: r.try_get::<i64>(4)? != 0,
            })
        })
        .fetch_all(conn)
        .await?;
    let fare_rules = query(
        "SELECT city_id, route_id, route_kind, rider_category, zone, amount_tiyn FROM fare_rules ORDER BY city_id, id",
    )
    .try_map(|r: Row| {
        Ok(FareRuleRow {
            city_id: r.try_get(0)?,
            route_id: r.try_get(1)?,
            route_kind: r.try_get(2)?,
            rider_category: r.try_get(3)?,
            zone: r.try_get(4)?,
            amount_tiyn: r.try_get(5)?,
        })
    })
    .fetch_all(conn)
    .await?;
    let fare_policies = query(
        "SELECT city_id, rule, rider_category, window_minutes, amount_tiyn FROM fare_policies ORDER BY city_id, id",
    )
    .try_map(|r: Row| {
        Ok(FarePolicyRow {
            city_id: r.try_get(0)?,
            rule: r.try_get(1)?,
            rider_category: r.try_get(2)?,
            window_minutes: r.try_get(3)?,
            amount_tiyn: r.try_get(4)?,
        })
    })
    .fetch_all(conn)
    .await?;
    let prefixes = query("SELECT prefix, operator FROM operator_prefixes ORDER BY prefix")
        .try_map(|r: Row| {
            Ok(PrefixRow {
                prefix: r.try_get(0)?,
                operator: r.try_get(1)?,
            })
        })
        .fetch_all(conn)
        .await?;
    Ok(CatalogueRows {
        cities,
        carriers,
        routes,
        vehicles,
        fare_rules,
        fare_policies,
        prefixes,
    })
}
