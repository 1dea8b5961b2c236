"""Scrapy settings for defwatch's crawls. ``scrapy crawl NAME`` reads them through
scrapy.cfg; ``defwatch crawl`` starts from them and applies the [crawl] configuration."""

BOT_NAME = "defwatch"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"

USER_AGENT = "defwatch/0.1 (+https://example.org/defwatch)"
ROBOTSTXT_OBEY = True
CONCURRENT_REQUESTS = 2  # = per domain: Scrapy 2.19 (asyncio) does not hold the per-domain limit
CONCURRENT_REQUESTS_PER_DOMAIN = 2
DOWNLOAD_DELAY = 0
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
DOWNLOAD_TIMEOUT = 60
DOWNLOAD_MAXSIZE = 10 * 1000 * 1000
DOWNLOAD_WARNSIZE = 0
RETRY_ENABLED = True
RETRY_TIMES = 1
# Scrapy's list without 429: a source that says "too many requests" is not asked again at once
# (its Retry-After is named in the run's reason; the next scheduled run asks again).
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408]
REDIRECT_MAX_TIMES = 5
# What one response yields is handed on this many at a time. Scrapy 2.19 (asyncio) starts
# this many tasks for every response that yields anything (default 100: measured at 13% of
# a crawl's CPU); a defwatch page yields one story, and the worker stores one at a time.
CONCURRENT_ITEMS = 4
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
LOG_LEVEL = "WARNING"

ITEM_PIPELINES = {"crawler.pipelines.StorePipeline": 300}
DOWNLOADER_MIDDLEWARES = {
    "crawler.addresses.PrivateAddressMiddleware": 60,  # before robots.txt: every request, every redirect
    "crawler.middlewares.ConditionalRequestMiddleware": 560,
    # after Scrapy's DownloadTimeoutMiddleware (350), which sets each request's timeout
    "crawler.middlewares.CrawlDeadlineMiddleware": 360,
}
DEFWATCH_ALLOW_PRIVATE = False  # [crawl] allow_private
REMOTE_CONTROL_ENABLED = False
LOG_INSTALL_ROOT_HANDLER = False  # defwatch's own logging set-up (core.logs) stays in charge
