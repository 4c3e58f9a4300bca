"""服务类社会救助 matching assistant for 黄石市民政局."""

__version__ = "0.1.0"
