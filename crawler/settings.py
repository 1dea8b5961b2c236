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
    # what defwatch does not use is not loaded (each crawler of a cycle would build it)
    # robots.txt asked once per host and cycle, then kept while fresh (crawler.hostcache)
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "crawler.middlewares.CachedRobotsTxtMiddleware": 100,
    "scrapy.downloadermiddlewares.httpauth.HttpAuthMiddleware": None,
    "scrapy.downloadermiddlewares.cookies.CookiesMiddleware": None,
    "scrapy.downloadermiddlewares.httpcache.HttpCacheMiddleware": None,
}
DEFWATCH_ALLOW_PRIVATE = False  # [crawl] allow_private
EXTENSIONS = {
    "scrapy.extensions.telnet.TelnetConsole": None,
    "scrapy.extensions.memusage.MemoryUsage": None,
    "scrapy.extensions.memdebug.MemoryDebugger": None,
    "scrapy.extensions.feedexport.FeedExporter": None,
    "scrapy.extensions.logstats.LogStats": None,
    "scrapy.extensions.spiderstate.SpiderState": None,
    "scrapy.extensions.remote_control.RemoteControl": None,
    # AutoThrottle starting from the host's last latency (crawler.hostcache)
    "scrapy.extensions.throttle.AutoThrottle": None,
    "crawler.middlewares.KnownLatencyAutoThrottle": 0,
}
# http and https only: the data:, file:, s3: and ftp: handlers are never built
DOWNLOAD_HANDLERS = {"data": None, "file": None, "s3": None, "ftp": None}
REMOTE_CONTROL_ENABLED = False
LOG_INSTALL_ROOT_HANDLER = False  # defwatch's own logging set-up (core.logs) stays in charge
# What a spider started by `scrapy crawl` hands its items to (a crawl started by
# crawler.runner is handed its own by whoever starts it): save, link copies, movements,
# alert outbox. Named here, like the pipelines, so that this package does not import it.
DEFWATCH_INGEST = "ingest.Ingest"
