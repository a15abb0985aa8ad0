"""The "Colour variations" panel's strings (English and Simplified Chinese), merged into i18n.MESSAGES."""
from __future__ import annotations

VARIATIONS_MESSAGES: dict[str, dict[str, str]] = {
    "variations": {"en": "Colour variations", "zh": "上色方案"},
    "variations_note": {"en": "The photo coloured by each colouriser at a few settings. Tap one to see it larger, "
                                "then use it: the photo is restored again with it.",
                        "zh": "用每种上色模型和几种设置为这张照片上色。点一张放大查看，再选用：照片会按它重新修复。"},
    "variations_make": {"en": "Make colour variations", "zh": "生成上色方案"},
    "variations_make_again": {"en": "Make them again", "zh": "重新生成"},
    "variations_requested": {"en": "Asked for: they start within a minute.", "zh": "已请求：一分钟内开始。"},
    "variations_making": {"en": "Making colour variations: {done} of {total}", "zh": "正在生成上色方案：{done}/{total}"},
    "variations_starting": {"en": "Making colour variations…", "zh": "正在生成上色方案…"},
    "variations_not_toned": {"en": "Colour variations can be made once the photo has been restored as far as its tone.",
                             "zh": "照片修复到色调这一步后才能生成上色方案。"},
    "variations_stale": {"en": "These were made from an earlier version of the photo; make them again to compare.",
                         "zh": "这些方案来自照片的旧版本；请重新生成再比较。"},
    "variations_failed": {"en": "The colour variations could not be made:", "zh": "无法生成上色方案："},
    "variations_colour_photo": {"en": "A colour photo: it keeps its own colours, so there is no colouring to choose.",
                                "zh": "这是彩色照片：保留原有颜色，无需选择上色方案。"},
    "variations_left_out": {"en": "Left out:", "zh": "未包括："},
    "variations_current": {"en": "current", "zh": "当前"},
    "variations_use": {"en": "Use this colouring", "zh": "选用这个上色方案"},
    "variations_chosen": {"en": "Chosen: the photo is coloured again with it.", "zh": "已选用：照片将按它重新上色。"},
    "variations_unchanged": {"en": "This already is the photo's colouring.", "zh": "这已经是照片当前的上色方案。"},
    "variations_made_in": {"en": "{n} made in {s} s ({device}).", "zh": "已生成 {n} 个，用时 {s} 秒（{device}）。"},
    "variations_sheet": {"en": "Contact sheet", "zh": "全部方案一览"},
}
