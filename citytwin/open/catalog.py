"""The DCAT-AP catalogue of the open data (`/open/catalog`, JSON-LD): what is published,
under which licence, how often it changes and where each distribution is.

Frequencies, formats, themes and languages are the EU Publications Office's authority
tables, as DCAT-AP asks; the catalogue is built from the settings and the request's
address, nothing is fetched.
"""

from __future__ import annotations

from typing import Any

from citytwin.open.kpis import PUBLISHED

EU = "http://publications.europa.eu/resource/authority/"
IANA = "https://www.iana.org/assignments/media-types/"
NGSI_LD_SPEC = "https://www.etsi.org/deliver/etsi_gs/CIM/001_099/009/"
CONTEXT = {
    "dcat": "http://www.w3.org/ns/dcat#",
    "dct": "http://purl.org/dc/terms/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
}


def _text(vi: str, en: str) -> list[dict[str, str]]:
    return [{"@language": "vi", "@value": vi}, {"@language": "en", "@value": en}]


def _ref(iri: str) -> dict[str, str]:
    return {"@id": iri}


def _distribution(
    base: str, path: str, file_type: str, media: str, title: str, licence: str
) -> dict[str, Any]:
    return {
        "@id": f"{base}{path}#distribution",
        "@type": "dcat:Distribution",
        "dct:title": title,
        "dcat:accessURL": _ref(base + path),
        "dcat:downloadURL": _ref(base + path),
        "dct:format": _ref(f"{EU}file-type/{file_type}"),
        "dcat:mediaType": _ref(IANA + media),
        "dct:license": _ref(licence),
    }


def catalogue(
    base: str, publisher: str, licence: str, indicator_codes: list[str]
) -> dict[str, Any]:
    """The catalogue, its datasets and distributions, every link under ``base``."""
    agent = {"@type": "foaf:Agent", "foaf:name": publisher}
    indicators = {
        "@id": f"{base}/open/datasets/sector-indicators",
        "@type": "dcat:Dataset",
        "dct:identifier": "sector-indicators",
        "dct:title": _text("Chỉ tiêu kinh tế – xã hội của các sở, ngành", "Sector indicators"),
        "dct:description": _text(
            "Số liệu định kỳ (tháng, quý, năm) các sở, ngành báo cáo, theo tỉnh và huyện; số"
            " liệu đang có hiệu lực, đã tính các lần đính chính.",
            "Periodic figures (month, quarter, year) the province's departments report, by"
            " province and district; the figures in force, corrections applied.",
        ),
        "dcat:theme": _ref(f"{EU}data-theme/ECON"),
        "dct:accrualPeriodicity": _ref(f"{EU}frequency/MONTHLY"),
        "dct:language": [_ref(f"{EU}language/VIE"), _ref(f"{EU}language/ENG")],
        "dct:publisher": agent,
        "dct:license": _ref(licence),
        "dcat:keyword": ["thống kê", "statistics", *indicator_codes],
        "dcat:distribution": [
            _distribution(base, "/open/indicators.csv", "CSV", "text/csv", "CSV", licence),
            _distribution(
                base, "/open/indicators.json", "JSON", "application/json", "JSON", licence
            ),
        ],
    }
    kpis = {
        "@id": f"{base}/open/datasets/service-kpis",
        "@type": "dcat:Dataset",
        "dct:identifier": "service-kpis",
        "dct:title": _text(
            "Chỉ số phục vụ hành chính công theo ngày và điểm phục vụ",
            "Public-service KPIs per day and site",
        ),
        "dct:description": _text(
            "Vé phát, vé phục vụ, thời gian chờ, thời gian phục vụ, tỷ lệ đạt chuẩn của các"
            " trung tâm phục vụ hành chính công; không có dữ liệu cá nhân.",
            "Tickets issued and served, waiting and service times, shares within target, of"
            " the public-administration service centres; no personal data.",
        ),
        "dcat:theme": _ref(f"{EU}data-theme/GOVE"),
        "dct:accrualPeriodicity": _ref(f"{EU}frequency/DAILY"),
        "dct:language": [_ref(f"{EU}language/VIE"), _ref(f"{EU}language/ENG")],
        "dct:publisher": agent,
        "dct:license": _ref(licence),
        "dcat:keyword": ["KPI", "hành chính công", "public service", *(d.id for d in PUBLISHED)],
        "dcat:distribution": [
            _distribution(base, "/open/kpis/daily.csv", "CSV", "text/csv", "CSV", licence),
            _distribution(
                base, "/open/kpis/daily.json", "JSON", "application/json", "JSON", licence
            ),
        ],
    }
    sensors = {
        "@id": f"{base}/open/datasets/sensors",
        "@type": "dcat:Dataset",
        "dct:identifier": "sensors",
        "dct:title": _text(
            "Quan trắc môi trường và mực nước (NGSI-LD)",
            "Environment and water-level observations (NGSI-LD)",
        ),
        "dct:description": _text(
            "Nhiệt độ, độ ẩm, bụi PM2.5, tiếng ồn và mực nước sông theo mô hình FIWARE Smart"
            " Data Models, cùng lịch sử đo.",
            "Temperature, humidity, PM2.5, noise and river levels as FIWARE Smart Data Models"
            " entities, with their history.",
        ),
        "dcat:keyword": ["NGSI-LD", "AirQualityObserved", "NoiseLevelObserved", "FloodMonitoring"],
        "dcat:theme": _ref(f"{EU}data-theme/ENVI"),
        "dct:accrualPeriodicity": _ref(f"{EU}frequency/UPDATE_CONT"),
        "dct:publisher": agent,
        "dct:license": _ref(licence),
        "dct:conformsTo": _ref(NGSI_LD_SPEC),
        "dcat:distribution": [
            {
                **_distribution(
                    base,
                    "/ngsi-ld/v1/entities",
                    "JSON_LD",
                    "application/ld+json",
                    "NGSI-LD",
                    licence,
                ),
                "dcat:accessService": {
                    "@type": "dcat:DataService",
                    "dcat:endpointURL": _ref(f"{base}/ngsi-ld/v1/"),
                    "dct:conformsTo": _ref(NGSI_LD_SPEC),
                },
            }
        ],
    }
    return {
        "@context": CONTEXT,
        "@id": f"{base}/open/catalog",
        "@type": "dcat:Catalog",
        "dct:title": _text("Dữ liệu mở citytwin", "citytwin open data"),
        "dct:description": _text(
            "Dữ liệu mở của Trung tâm Giám sát, điều hành: không có dữ liệu cá nhân.",
            "Open data of the monitoring and operations centre: no personal data.",
        ),
        "dct:publisher": agent,
        "dct:license": _ref(licence),
        "dct:language": [_ref(f"{EU}language/VIE"), _ref(f"{EU}language/ENG")],
        "foaf:homepage": _ref(f"{base}/open/catalog"),
        "dcat:dataset": [kpis, sensors, indicators],
    }
