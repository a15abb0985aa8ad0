"""The album pages' strings (album_pages.py): the page range, the pager and "Show more", merged into i18n.MESSAGES."""
from __future__ import annotations

PAGING_MESSAGES: dict[str, dict[str, str]] = {
    # {first}, {last} and {total} come formatted with thousands separators (the templates' "n" filter).
    "page_range": {"en": "Photos {first}–{last} of {total}", "zh": "第 {first}–{last} 张，共 {total} 张"},
    "page_of": {"en": "Page {page} of {pages}", "zh": "第 {page} 页，共 {pages} 页"},
    "pages": {"en": "Pages", "zh": "分页"},
    "page_n": {"en": "Page {n}", "zh": "第 {n} 页"},
    "page_previous": {"en": "‹ Previous", "zh": "‹ 上一页"},
    "page_next": {"en": "Next ›", "zh": "下一页 ›"},
    "page_go": {"en": "Go", "zh": "前往"},
    "page_number": {"en": "Page", "zh": "页码"},
    "show_more": {"en": "Show {n} more", "zh": "再显示 {n} 张"},
    "loading_more": {"en": "Loading…", "zh": "正在加载…"},
}
