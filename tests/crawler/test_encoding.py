"""Decoding like a browser (crawler.encoding): WHATWG labels, BOM, HTTP, prolog, detection,
damage, mojibake."""

from __future__ import annotations

import codecs

import pytest

from crawler.encoding import codec_for_label, decode_document, looks_like_mojibake

# Characters outside JIS X 0208 that CP932 (and every browser) has: the ministry's 﨑.
CP932_ONLY = "宮﨑防衛副大臣 ① 髙橋 ～ 令和８年度"


@pytest.mark.parametrize(
    ("label", "codec"),
    [
        ("Shift_JIS", "cp932"),
        ("SJIS", "cp932"),
        ("windows-31j", "cp932"),
        (" x-sjis ", "cp932"),
        ("GB2312", "gb18030"),
        ("GBK", "gb18030"),
        ("Big5", "big5hkscs"),
        ("EUC-KR", "cp949"),
        ("ks_c_5601-1987", "cp949"),
        ("ISO-8859-1", "windows-1252"),
        ("US-ASCII", "windows-1252"),
        ("EUC-JP", "euc_jp"),
        ("UTF8", "utf-8"),
        ("iso-2022-kr", None),  # the Standard's "replacement": never read as text
        ("x-no-such-thing", None),
    ],
)
def test_whatwg_labels(label: str, codec: str | None) -> None:
    assert codec_for_label(label) == codec


def _feed(title: str, encoding: str | None) -> str:
    prolog = f'<?xml version="1.0" encoding="{encoding}"?>' if encoding else '<?xml version="1.0"?>'
    return f"{prolog}<rss version='2.0'><channel><item><title>{title}</title></item></channel></rss>"


def test_shift_jis_is_cp932_with_the_windows_characters() -> None:
    body = _feed(CP932_ONLY, "Shift_JIS").encode("cp932")
    decoded = decode_document(body, "text/xml")  # text/xml without charset: the prolog decides
    assert CP932_ONLY in decoded.text
    assert (decoded.encoding, decoded.source, decoded.damaged) == ("cp932", "prolog", 0)


@pytest.mark.parametrize(
    ("codec", "title"),
    [
        ("euc_jp", "防衛省・自衛隊の人事発令について"),
        ("cp932", "防衛省・自衛隊の人事発令について"),
        ("euc_kr", "국방부 대변인 정례브리핑 북한 미사일 발사"),
        ("gb2312", "国防部例行记者会 中国人民解放军东部战区"),
        ("big5", "國防部新聞稿 中華民國國軍 國防報告書"),
    ],
)
def test_undeclared_asian_encodings_are_detected_and_recorded(codec: str, title: str) -> None:
    body = _feed(f"{title}</title></item><item><title>{title}。{title}", None).encode(codec)
    decoded = decode_document(body, "application/rss+xml")
    assert title in decoded.text
    assert decoded.source == "detected" and "encoding_detected" in decoded.problems


def test_bom_wins_over_the_prolog_and_the_contradiction_is_counted() -> None:
    body = codecs.BOM_UTF8 + _feed("人事発令", "Shift_JIS").encode("utf-8")
    decoded = decode_document(body, "")
    assert "人事発令" in decoded.text
    assert decoded.source == "bom" and "bom_contradicts_declaration" in decoded.problems


def test_utf16_with_bom() -> None:
    body = codecs.BOM_UTF16_LE + _feed("人事発令", "utf-16").encode("utf-16-le")
    decoded = decode_document(body, "")
    assert "人事発令" in decoded.text and decoded.problems == []


def test_a_wrong_declaration_gives_way_to_detection() -> None:
    title = "防衛省・自衛隊の人事発令について、令和８年度の募集について"
    body = _feed(title, "utf-8").encode("cp932")
    decoded = decode_document(body, "application/xml; charset=utf-8")
    assert title in decoded.text
    assert "declared_encoding_wrong" in decoded.problems and decoded.damaged == 0


def test_an_unknown_label_is_counted_and_the_bytes_still_read() -> None:
    body = _feed("人事発令", "x-klingon").encode("utf-8")
    decoded = decode_document(body, "text/xml; charset=x-unknown")
    assert "人事発令" in decoded.text
    assert decoded.problems.count("unknown_encoding_label") == 2


def test_one_invalid_byte_damages_one_spot_not_the_whole_feed() -> None:
    good = "人事発令（３月７日付）"
    body = _feed("壊れた" + "\udcff" + "題名", "utf-8").encode("utf-8", "surrogateescape")
    body = body.replace(b"</channel>", f"<item><title>{good}</title></item></channel>".encode())
    decoded = decode_document(body, "application/rss+xml; charset=utf-8")
    assert good in decoded.text and "壊れた\ufffd題名" in decoded.text
    assert decoded.damaged == 1 and "invalid_bytes" in decoded.problems


def test_mojibake_is_recognised() -> None:
    japanese = "防衛省・自衛隊の人事発令について"
    wrong = japanese.encode("utf-8").decode("latin-1")
    assert looks_like_mojibake(wrong)
    assert not looks_like_mojibake(japanese)
    assert not looks_like_mojibake("Café déjà vu")  # too few non-ASCII letters to tell
