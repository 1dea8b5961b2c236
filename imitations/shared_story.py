"""The one ministry release that both imitations carry: the ministry as a PDF release in
its news feed, J-Defense as an article quoting it verbatim. Cross-source linking tests
expect the two to be recognised as the same story."""

MOD_PATH = "/j/press/news/2025/10/17b.pdf"
MOD_TITLE = "日ＡＳＥＡＮ防衛当局次官級会合の開催について"
MOD_PUBDATE = "Fri, 17 Oct 2025 16:00:00 +0900"

JDEFENSE_TITLE = "防衛省が日ASEAN防衛当局次官級会合の開催を発表"
JDEFENSE_DATE_LINE = "2025-10-20 09:10"

# Quoted in full by both sites (the J-Defense article adds one line of its own before it).
RELEASE_TEXT = (
    "令和7年10月17日\n"
    "防衛省\n"
    "日ASEAN防衛当局次官級会合の開催について\n"
    "令和7年10月21日(火)から22日(水)にかけて、東京において、第17回日ASEAN防衛当局次官級会合を開催します。"
    "本会合には、ASEAN加盟国の国防当局の次官級代表、ASEAN事務局の代表が参加する予定です。"
    "会合では、地域の安全保障環境、海洋安全保障、人道支援・災害救援、サイバーセキュリティ及び"
    "防衛装備・技術協力について意見交換を行う予定です。"
    "防衛省は、自由で開かれたインド太平洋の実現に向け、ASEANとの防衛協力・交流を一層推進してまいります。"
    "また、本会合に合わせ、防衛省において各国代表団との二国間会談を実施する予定です。"
    "会合の概要については、終了後に防衛省ホームページにおいてお知らせします。"
)
