#!/usr/bin/env python3
"""Generates the demo's small Astana GTFS feed (astana-gtfs.zip) and address list
(astana-addresses.csv) next to this script. Deterministic: the same bytes every run.

Routes are the catalogue's Astana routes 10, 12, 310 (express) and 301 (suburban), over stops on
real streets with approximate coordinates; trips run 06:00-23:00 (routes 10 and 12 around the clock) in both directions, weekdays
and weekends (less often), for 2025-01-01..2030-12-31. Route 301 uses frequencies.txt.

    python3 crates/smsbus/data/make_astana_gtfs.py
"""
import csv
import io
import math
import os
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))

STOPS = {
    # id: (name, lat, lon)
    "zhd": ("ЖД вокзал", 51.19640, 71.40930),
    "saryarka": ("пр. Сарыарка", 51.18420, 71.40780),
    "kenesary_beibit": ("ул. Кенесары — ул. Бейбітшілік", 51.16730, 71.42250),
    "abay_beibit": ("пр. Абая — ул. Бейбітшілік", 51.17110, 71.42140),
    "abay_respubliki": ("пр. Абая — пр. Республики", 51.17080, 71.43240),
    "kenesary_imanov": ("ул. Кенесары — ул. Иманова", 51.16650, 71.43700),
    "enu": ("Евразийский университет (ЕНУ)", 51.16300, 71.44600),
    "zhagalau": ("Мкр. Жагалау", 51.15050, 71.47000),
    "park": ("Центральный парк", 51.15450, 71.42300),
    "khan_shatyr": ("Хан Шатыр", 51.13270, 71.40400),
    "keruen": ("ТРЦ Керуен", 51.12800, 71.42400),
    "baiterek": ("Байтерек", 51.12830, 71.43050),
    "akorda": ("Ақорда", 51.12600, 71.44600),
    "piramida": ("Дворец мира и согласия", 51.12300, 71.46300),
    "turan_saraishyk": ("пр. Туран — ул. Сарайшық", 51.11800, 71.41600),
    "kabanbay": ("пр. Кабанбай батыра", 51.10500, 71.42700),
    "nurly_zhol": ("Нұрлы Жол вокзалы", 51.11400, 71.52700),
    "expo": ("EXPO", 51.08930, 71.41600),
    "mega": ("ТРЦ Mega Silk Way", 51.08830, 71.40900),
    "turkestan": ("ул. Туркестан", 51.07500, 71.41800),
    "airport": ("Международный аэропорт", 51.02690, 71.46120),
    "kosshy": ("Косшы", 51.02900, 71.36200),
}

ROUTES = [
    # route_id, short name, long name, stops, weekday headway min, weekend headway min, frequencies?
    ("astana-10", "10", "Железнодорожный вокзал — Международный аэропорт",
     ["zhd", "saryarka", "kenesary_beibit", "park", "khan_shatyr", "keruen", "baiterek", "kabanbay", "expo", "turkestan", "airport"], 10, 15, False),
    ("astana-12", "12", "Мкр. Жагалау — Нурлы Жол",
     ["zhagalau", "enu", "kenesary_imanov", "abay_respubliki", "park", "baiterek", "akorda", "piramida", "nurly_zhol"], 12, 20, False),
    ("astana-310", "310", "Экспресс: Левый берег — Правый берег",
     ["khan_shatyr", "baiterek", "park", "abay_beibit", "abay_respubliki", "zhd"], 20, 30, False),
    ("astana-301", "301", "Астана — Косшы",
     ["baiterek", "turan_saraishyk", "mega", "kosshy"], 30, 40, True),
]

SPEED_M_PER_S = {"10": 6.0, "12": 6.0, "310": 9.0, "301": 11.0}
DWELL_S = 30
# The city routes 10 and 12 run around the clock, so the demo city has buses moving whenever
# it is shown (and tested); the express 310 and the suburban 301 run 06:00-23:00.
FIRST_S, LAST_S = 6 * 3600, 23 * 3600
ALL_NIGHT = {"10", "12"}


def distance_m(a, b):
    lat1, lon1 = math.radians(a[0]), math.radians(a[1])
    lat2, lon2 = math.radians(b[0]), math.radians(b[1])
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371000 * math.asin(math.sqrt(h))


def hms(s):
    return "%02d:%02d:%02d" % (s // 3600, s // 60 % 60, s % 60)


def table(header, rows):
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return out.getvalue()


def shape_points(stops):
    """Stop coordinates with a bend between each pair (streets are not straight lines)."""
    points = []
    for i, sid in enumerate(stops):
        lat, lon = STOPS[sid][1], STOPS[sid][2]
        points.append((lat, lon))
        if i + 1 < len(stops):
            nlat, nlon = STOPS[stops[i + 1]][1], STOPS[stops[i + 1]][2]
            # go along the street first, then turn: an L-shaped bend at 60 %
            points.append((lat + (nlat - lat) * 0.6, lon + (nlon - lon) * 0.4))
    dist, out = 0.0, []
    for i, p in enumerate(points):
        if i:
            dist += distance_m(points[i - 1], p)
        out.append((p[0], p[1], dist))
    return out


def main():
    files = {}
    files["agency.txt"] = table(
        ["agency_id", "agency_name", "agency_url", "agency_timezone", "agency_lang", "agency_phone"],
        [["astana-lrt", "Astana LRT (демо)", "https://example.kz/astana", "Asia/Almaty", "ru", "+7 7172 00 00 00"]])
    # Fare zones of the suburban route 301: the city is zone 1, then outward.
    zones = {"mega": 2, "kosshy": 3}
    files["stops.txt"] = table(["stop_id", "stop_name", "stop_lat", "stop_lon", "zone_id"],
                               [[sid, n, "%.5f" % lat, "%.5f" % lon, zones.get(sid, 1)] for sid, (n, lat, lon) in STOPS.items()])
    files["routes.txt"] = table(["route_id", "agency_id", "route_short_name", "route_long_name", "route_type", "route_color"],
                                [[r[0], "astana-lrt", r[1], r[2], 3, "1F6FB2" if r[1] != "310" else "C0392B"] for r in ROUTES])
    files["calendar.txt"] = table(
        ["service_id", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "start_date", "end_date"],
        [["weekday", 1, 1, 1, 1, 1, 0, 0, "20250101", "20301231"], ["weekend", 0, 0, 0, 0, 0, 1, 1, "20250101", "20301231"]])
    files["calendar_dates.txt"] = table(["service_id", "date", "exception_type"],
                                        # Independence Day: weekend timetable on a weekday
                                        [["weekday", "20251216", 2], ["weekend", "20251216", 1]])
    shapes, trips, stop_times, frequencies = [], [], [], []
    for route_id, short, _, stops, weekday_h, weekend_h, use_frequencies in ROUTES:
        for direction, seq in ((0, stops), (1, list(reversed(stops)))):
            shape_id = "%s-%d" % (route_id, direction)
            pts = shape_points(seq)
            for i, (lat, lon, d) in enumerate(pts):
                shapes.append([shape_id, "%.5f" % lat, "%.5f" % lon, i + 1, "%.1f" % d])
            # offsets and shape distances of each stop (stops are every second shape point)
            offsets, t = [], 0
            for i, sid in enumerate(seq):
                if i:
                    hop = distance_m(STOPS[seq[i - 1]][1:], STOPS[sid][1:]) * 1.25
                    t += max(60, int(round(hop / SPEED_M_PER_S[short] / 60.0)) * 60) + DWELL_S
                offsets.append((t, pts[2 * i][2]))
            headsign = STOPS[seq[-1]][0]
            for service, headway in (("weekday", weekday_h), ("weekend", weekend_h)):
                first, last = (0, 24 * 3600 - 60) if short in ALL_NIGHT else (FIRST_S, LAST_S)
                starts = list(range(first + direction * 5 * 60, last + 1, headway * 60))
                if use_frequencies:
                    starts = starts[:1]
                for n, start in enumerate(starts):
                    trip_id = "%s-%s-%d-%03d" % (route_id, service, direction, n)
                    trips.append([route_id, service, trip_id, headsign, direction, shape_id])
                    for i, (sid, (off, d)) in enumerate(zip(seq, offsets)):
                        arr = start + off
                        dep = arr if i == 0 or i == len(seq) - 1 else arr + 0
                        stop_times.append([trip_id, hms(arr), hms(dep), sid, i + 1, "%.1f" % d])
                    if use_frequencies:
                        frequencies.append([trip_id, hms(start), hms(LAST_S), headway * 60])
    files["shapes.txt"] = table(["shape_id", "shape_pt_lat", "shape_pt_lon", "shape_pt_sequence", "shape_dist_traveled"], shapes)
    files["trips.txt"] = table(["route_id", "service_id", "trip_id", "trip_headsign", "direction_id", "shape_id"], trips)
    files["stop_times.txt"] = table(["trip_id", "arrival_time", "departure_time", "stop_id", "stop_sequence", "shape_dist_traveled"], stop_times)
    files["frequencies.txt"] = table(["trip_id", "start_time", "end_time", "headway_secs"], frequencies)
    files["feed_info.txt"] = table(["feed_publisher_name", "feed_publisher_url", "feed_lang", "feed_start_date", "feed_end_date", "feed_version"],
                                   [["SMSBUS demo", "https://example.kz", "ru", "20250101", "20301231", "demo-1"]])
    with zipfile.ZipFile(os.path.join(HERE, "astana-gtfs.zip"), "w", zipfile.ZIP_DEFLATED) as z:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=(2025, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, files[name].encode("utf-8"))

    addresses = [
        ["проспект Абая", "52", 51.17060, 71.42600],
        ["проспект Абая", "10", 51.17150, 71.41400],
        ["проспект Республики", "24", 51.16900, 71.43300],
        ["улица Кенесары", "40", 51.16700, 71.43000],
        ["улица Кенесары", "70", 51.16620, 71.44300],
        ["улица Бейбітшілік", "14", 51.17400, 71.42200],
        ["улица Иманова", "19", 51.16400, 71.43800],
        ["Қабанбай батыр даңғылы", "11", 51.12820, 71.43060],
        ["Kabanbay Batyr avenue", "53", 51.09900, 71.42200],
        ["проспект Туран", "37", 51.11900, 71.41300],
        ["улица Сарайшық", "5", 51.12200, 71.42000],
        ["проспект Сарыарка", "6", 51.18300, 71.40700],
        ["улица Сатпаева", "2", 51.16200, 71.44800],
        ["Мәңгілік Ел даңғылы", "55", 51.08800, 71.42300],
        ["улица Туркестан", "2", 51.07600, 71.41900],
        ["улица Достык", "5", 51.12700, 71.43700],
        ["Нұржол бульвары", "14", 51.12550, 71.43500],
        ["улица Кошкарбаева", "32", 51.14700, 71.46500],
    ]
    with open(os.path.join(HERE, "astana-addresses.csv"), "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["street", "house", "lat", "lon"])
        for street, house, lat, lon in addresses:
            w.writerow([street, house, "%.5f" % lat, "%.5f" % lon])


if __name__ == "__main__":
    main()
