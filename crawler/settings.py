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
# Scrapy reads and parses the source of every generator callback of every spider instance
# (its cache holds bound methods, one per spider) to warn about `return value` in a generator:
# 5 ms a source in a cycle of many; ruff and the tests look at our callbacks instead.
WARN_ON_GENERATOR_RETURN_VALUE = False
# Scrapy's stats dump at a spider's close is an INFO line, formatted even when not shown (the
# scrapy logger stays at WARNING: core.logs); each run's counts are in the store instead.
STATS_DUMP = False
TELNETCONSOLE_ENABLED = False
LOG_LEVEL = "WARNING"

ITEM_PIPELINES = {"crawler.pipelines.StorePipeline": 300}
# Scrapy's component lists, less what defwatch does not use, as the *_BASE settings themselves:
# a component switched off with None in DOWNLOADER_MIDDLEWARES or EXTENSIONS is still imported
# by every crawler (Scrapy loads each key of those dicts to compare it): the telnet console,
# remote control (aiohttp), cookies (tldextract) cost 0.4 s of CPU a process that way.
DOWNLOADER_MIDDLEWARES_BASE = {
    "scrapy.downloadermiddlewares.offsite.OffsiteMiddleware": 50,
    # robots.txt asked once per host and cycle, then kept while fresh (crawler.hostcache)
    "crawler.middlewares.CachedRobotsTxtMiddleware": 100,
    "scrapy.downloadermiddlewares.downloadtimeout.DownloadTimeoutMiddleware": 350,
    "scrapy.downloadermiddlewares.defaultheaders.DefaultHeadersMiddleware": 400,
    "scrapy.downloadermiddlewares.useragent.UserAgentMiddleware": 500,
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": 550,
    "scrapy.downloadermiddlewares.redirect.MetaRefreshMiddleware": 580,
    "scrapy.downloadermiddlewares.httpcompression.HttpCompressionMiddleware": 590,
    "scrapy.downloadermiddlewares.redirect.RedirectMiddleware": 600,
    "scrapy.downloadermiddlewares.httpproxy.HttpProxyMiddleware": 750,
    "scrapy.downloadermiddlewares.stats.DownloaderStats": 850,
}  # not here: Scrapy's RobotsTxtMiddleware, HttpAuthMiddleware, CookiesMiddleware, HttpCacheMiddleware
DOWNLOADER_MIDDLEWARES = {
    "crawler.addresses.PrivateAddressMiddleware": 60,  # before robots.txt: every request, every redirect
    "crawler.middlewares.ConditionalRequestMiddleware": 560,
    # after Scrapy's DownloadTimeoutMiddleware (350), which sets each request's timeout
    "crawler.middlewares.CrawlDeadlineMiddleware": 360,
    # after every other request step (counts at 850): a feed's answer fetched by the check
    # before the crawl (crawler.precheck) instead of a download
    "crawler.middlewares.PrefetchedMiddleware": 950,
}
DEFWATCH_ALLOW_PRIVATE = False  # [crawl] allow_private
# The address connected to is checked as well as the one the middleware saw (DNS rebinding)
TWISTED_DNS_RESOLVER = "crawler.addresses.PublicOnlyResolver"
EXTENSIONS_BASE = {
    "scrapy.extensions.corestats.CoreStats": 0,
    "scrapy.extensions.logcount.LogCount": 0,
    "scrapy.extensions.closespider.CloseSpider": 0,
    # AutoThrottle starting from the host's last latency (crawler.hostcache)
    "crawler.middlewares.KnownLatencyAutoThrottle": 0,
}  # not here: telnet, memory usage and debugging, feed export, log stats, spider state, remote control
# http and https only: the data:, file:, s3: and ftp: handlers are never built
DOWNLOAD_HANDLERS_BASE = {
    "http": "scrapy.core.downloader.handlers.http11.HTTP11DownloadHandler",
    "https": "scrapy.core.downloader.handlers.http11.HTTP11DownloadHandler",
}
REMOTE_CONTROL_ENABLED = False
LOG_INSTALL_ROOT_HANDLER = False  # defwatch's own logging set-up (core.logs) stays in charge
# What a spider started by `scrapy crawl` hands its items to (a crawl started by
# crawler.runner is handed its own by whoever starts it): save, link copies, movements,
# alert outbox. Named here, like the pipelines, so that this package does not import it.
DEFWATCH_INGEST = "ingest.Ingest"
