"""English and Simplified Chinese for the web gallery, chosen from the browser's Accept-Language.

A ``lang`` cookie (set by the language link in the footer) overrides the browser. Every string the
pages show is here, so a missing translation is a KeyError in the tests, not an English word on a
Chinese page.
"""
from __future__ import annotations

LANGUAGES = ("en", "zh")
HTML_LANG = {"en": "en", "zh": "zh-Hans"}

MESSAGES: dict[str, dict[str, str]] = {
    "app_name": {"en": "Family photos", "zh": "家庭相册"},
    "albums": {"en": "Albums", "zh": "相册"},
    "search_albums": {"en": "Search albums", "zh": "搜索相册"},
    "search": {"en": "Search", "zh": "搜索"},
    # Descriptions: the family's date, caption, place and names (viewer/describing.py).
    "search_photos": {"en": "Search albums, captions, places, names", "zh": "搜索相册、说明、地点、人名"},
    "search_album": {"en": "Search captions, places, names", "zh": "搜索说明、地点、人名"},
    "matching_photos": {"en": "Photos", "zh": "照片"},
    "no_photo_match": {"en": "No photo matches “{q}”.", "zh": "没有与“{q}”匹配的照片。"},
    "view_grid": {"en": "Photos", "zh": "照片"},
    "view_timeline": {"en": "Timeline", "zh": "时间线"},
    "undated": {"en": "Undated", "zh": "未注明日期"},
    "date_year": {"en": "{year}", "zh": "{year}年"},
    "date_decade": {"en": "{decade}s", "zh": "{decade}年代"},
    "date_month": {"en": "{year}-{month:02d}", "zh": "{year}年{month}月"},
    "date_day": {"en": "{year}-{month:02d}-{day:02d}", "zh": "{year}年{month}月{day}日"},
    "date_about": {"en": "about {date}", "zh": "约{date}"},
    "describe": {"en": "Date, caption, people", "zh": "日期、说明、人物"},
    "describe_note": {"en": "Written into the restoration, so photo apps sort and search it; only publishing runs again.",
                      "zh": "会写入修复后的照片，相册应用可以按日期排序和搜索；只重新发布，不重新修复。"},
    "date": {"en": "Date", "zh": "日期"},
    "date_help": {"en": "1962-06-14, 1962-06, 1962, about 1960 or 1960s", "zh": "1962-06-14、1962-06、1962、about 1960 或 1960s"},
    "caption": {"en": "Caption", "zh": "说明"},
    "place": {"en": "Place", "zh": "地点"},
    "coordinates": {"en": "Coordinates (latitude, longitude)", "zh": "坐标（纬度，经度）"},
    "people": {"en": "People", "zh": "人物"},
    "people_help": {"en": "Names separated by commas", "zh": "人名之间用逗号分隔"},
    "suggested": {"en": "From this album:", "zh": "本相册里用过的："},
    "file_name_suggests": {"en": "The file name suggests {date}:", "zh": "文件名里的日期是 {date}："},
    "album_name_suggests": {"en": "The album's name suggests {date}:", "zh": "相册名里的日期是 {date}："},
    "use": {"en": "Use it", "zh": "使用"},
    "from_album_default": {"en": "(the album's)", "zh": "（相册的）"},
    "album_describe": {"en": "Date and place", "zh": "日期和地点"},
    "album_describe_note": {"en": "For the album's photos without their own date or place.", "zh": "用于相册里没有自己日期或地点的照片。"},
    "new_album": {"en": "New album", "zh": "新建相册"},
    "album_title": {"en": "Album title", "zh": "相册名称"},
    "create": {"en": "Create", "zh": "创建"},
    "no_albums": {"en": "No albums yet.", "zh": "还没有相册。"},
    "no_match": {"en": "No album matches “{q}”.", "zh": "没有与“{q}”匹配的相册。"},
    "photo_count": {"en": "{n} photos", "zh": "{n} 张照片"},
    "restored_count": {"en": "{n} restored", "zh": "已修复 {n} 张"},
    "rename": {"en": "Rename", "zh": "重命名"},
    "save": {"en": "Save", "zh": "保存"},
    "delete": {"en": "Delete", "zh": "删除"},
    "delete_album_confirm": {"en": "Move this album to the trash?", "zh": "把这个相册移到回收站？"},
    "delete_photo_confirm": {"en": "Move this photo to the trash?", "zh": "把这张照片移到回收站？"},
    "trash": {"en": "Trash", "zh": "回收站"},
    "trash_empty": {"en": "The trash is empty.", "zh": "回收站是空的。"},
    "trash_note": {"en": "Deleted albums and photos wait here until you restore them.", "zh": "删除的相册和照片会保留在这里，可以随时恢复。"},
    "restore_from_trash": {"en": "Restore", "zh": "恢复"},
    "kind_album": {"en": "Album", "zh": "相册"},
    "kind_photo": {"en": "Photo", "zh": "照片"},
    "from_album": {"en": "from {album}", "zh": "来自 {album}"},
    "upload": {"en": "Add scans", "zh": "添加照片"},
    "upload_hint": {"en": "Choose several scans from your camera roll; each uploads with its own progress.", "zh": "可以一次从相册选择多张照片，每张单独显示上传进度。"},
    "uploaded": {"en": "Uploaded", "zh": "已上传"},
    "upload_split": {"en": "Several prints on this scan (a flatbed scanner sheet): add each print as its own photo", "zh": "一张扫描上有多张照片（平板扫描仪）：每张照片单独添加"},
    "split_done": {"en": "Split into prints", "zh": "已拆分成单张照片"},
    "duplicate": {"en": "Already in this album", "zh": "相册里已有这张照片"},
    "failed_upload": {"en": "Not uploaded", "zh": "上传失败"},
    "state_waiting": {"en": "Waiting", "zh": "等待中"},
    "state_processing": {"en": "Processing", "zh": "处理中"},
    "state_restored": {"en": "Restored", "zh": "已修复"},
    "state_failed": {"en": "Failed", "zh": "失败"},
    "state_partial": {"en": "Partly restored", "zh": "部分修复"},
    # Optional steps (see restore_dagster/optional_steps.py): "pending_<step>" is the badge,
    # "reason_pending_<step>" the one line everyone may read. A step without them gets the generic ones.
    "pending_colour": {"en": "Colour pending", "zh": "待上色"},
    "reason_pending_colour": {"en": "Restored without colour for now: it is coloured automatically once the colouring model is installed.", "zh": "暂时没有上色：上色模型安装好后会自动上色。"},
    "pending_repair": {"en": "Repair pending", "zh": "待修复"},
    "reason_pending_repair": {"en": "Restored without scratch and dust repair for now: it is repaired automatically once the repair models are installed.", "zh": "暂时没有修复划痕和污点：修复模型安装好后会自动修复。"},
    "reason_pending_steps": {"en": "Some steps are still to come; they are done automatically.", "zh": "还有一些步骤稍后会自动完成。"},
    # What a share-link visitor reads about a photo: never the server's paths or settings.
    "reason_not_restored_yet": {"en": "Not restored yet", "zh": "还没有修复"},
    "reason_processing": {"en": "Being restored now", "zh": "正在修复"},
    "reason_failed": {"en": "Restoration failed", "zh": "修复失败"},
    "details": {"en": "Details", "zh": "详细信息"},
    "empty_album": {"en": "No photos in this album yet.", "zh": "这个相册里还没有照片。"},
    "share": {"en": "Share", "zh": "分享"},
    "share_link": {"en": "Read-only link", "zh": "只读链接"},
    "share_create": {"en": "Make a share link", "zh": "生成分享链接"},
    "share_new": {"en": "New link", "zh": "换一个链接"},
    "share_revoke": {"en": "Revoke link", "zh": "取消分享"},
    "share_note": {"en": "Anyone with this link can view and download this album's photos, nothing else.", "zh": "拿到链接的人只能查看和下载这个相册的照片。"},
    "shared_album": {"en": "Shared album", "zh": "分享的相册"},
    "copy": {"en": "Copy", "zh": "复制"},
    "before": {"en": "Original", "zh": "原图"},
    "after": {"en": "Restored", "zh": "修复后"},
    "compare_slider": {"en": "Compare original and restoration", "zh": "对比原图和修复后"},
    "side_by_side": {"en": "Side by side", "zh": "并排"},
    "slider_view": {"en": "Slider", "zh": "滑块"},
    "zoom_hint": {"en": "Pinch or double-tap to zoom; drag to pan.", "zh": "双指缩放或双击放大，拖动查看细节。"},
    "reset_zoom": {"en": "Reset zoom", "zh": "复原"},
    "download_original": {"en": "Download original", "zh": "下载原图"},
    "download_restored": {"en": "Download restoration", "zh": "下载修复图"},
    "ai_colourised": {"en": "AI-colourised", "zh": "AI 上色"},
    "ai_colourised_note": {"en": "Colours are guessed by {model} (render factor {rf}); they may not be the real ones.", "zh": "颜色由 {model}（渲染因子 {rf}）推测，未必是真实颜色。"},
    "ai_colourised_note_size": {"en": "Colours are guessed by {model} (input size {size}); they may not be the real ones.", "zh": "颜色由 {model}（输入尺寸 {size}）推测，未必是真实颜色。"},
    "not_colourised": {"en": "Not colourised: {why}", "zh": "未上色：{why}"},
    "made_with": {"en": "Denoise level {noise} · {w}×{h} {fmt}", "zh": "降噪等级 {noise} · {w}×{h} {fmt}"},
    "not_restored_yet": {"en": "The restoration is not ready yet.", "zh": "修复还没有完成。"},
    "restore_again": {"en": "Restore again", "zh": "重新修复"},
    "restore_again_note": {"en": "Change the settings and this photo is restored again; the new restoration replaces this one.", "zh": "修改设置后会重新修复这张照片，新结果会替换当前的修复图。"},
    "not_registered": {"en": "Settings can be changed once the pipeline has picked this photo up.", "zh": "照片进入处理流程后才能修改设置。"},
    "render_factor": {"en": "Render factor", "zh": "渲染因子"},
    "model": {"en": "Model", "zh": "模型"},
    "model_deoldify-artistic": {"en": "DeOldify artistic (vivid)", "zh": "DeOldify 艺术（鲜艳）"},
    "model_deoldify-stable": {"en": "DeOldify stable (natural)", "zh": "DeOldify 稳定（自然）"},
    "model_ddcolor": {"en": "DDColor (realistic)", "zh": "DDColor（写实）"},
    "model_ddcolor-artistic": {"en": "DDColor artistic", "zh": "DDColor 艺术"},
    "model_ddcolor-tiny": {"en": "DDColor tiny (fast)", "zh": "DDColor 轻量（快）"},
    "input_size": {"en": "DDColor input size", "zh": "DDColor 输入尺寸"},
    "noise_level": {"en": "Noise reduction", "zh": "降噪"},
    "colourise": {"en": "Colourise", "zh": "上色"},
    "colourise_auto": {"en": "Black-and-white photos only", "zh": "只给黑白照片上色"},
    "colourise_on": {"en": "Always", "zh": "总是上色"},
    "colourise_off": {"en": "Never", "zh": "不上色"},
    "retry": {"en": "Try again", "zh": "重试"},
    # Scratch and dust repair (the `repaired` stage) and the owner's mask editor.
    "repair": {"en": "Repair", "zh": "修复划痕"},
    "repair_mode": {"en": "Scratch and dust repair", "zh": "划痕和污点修复"},
    "repair_auto": {"en": "Automatic (when damage is found)", "zh": "自动（发现损伤时修复）"},
    "repair_on": {"en": "Always", "zh": "总是修复"},
    "repair_off": {"en": "Never", "zh": "不修复"},
    "repair_threshold": {"en": "Scratch detection threshold", "zh": "划痕检测阈值"},
    "repair_threshold_note": {"en": "0.05 to 0.95; lower finds more scratches (0.4 is the usual).", "zh": "0.05 到 0.95；越低找到的划痕越多（通常 0.4）。"},
    "max_magnification": {"en": "Largest enlargement", "zh": "最大放大倍数"},
    "max_magnification_note": {"en": "1 to 64 times the scan's size; beyond 4 a small scan gains pixels, not detail.", "zh": "扫描尺寸的 1 到 64 倍；小扫描放大超过 4 倍只多像素，不多细节。"},
    "repair_applied": {"en": "Repaired: {regions} places, {coverage}% of the photo", "zh": "已修复：{regions} 处，占照片的 {coverage}%"},
    "repair_not_applied": {"en": "Not repaired", "zh": "没有修复"},
    "repair_weights_missing": {"en": "Not repaired: weights missing", "zh": "没有修复：缺少模型权重"},
    "repair_how_to_fix": {"en": "How to fix it", "zh": "如何解决"},
    "repair_not_yet": {"en": "Not repaired yet: the repair runs with the next restoration.", "zh": "还没有修复：下次修复照片时会一起修复划痕。"},
    # Tone and colour restoration (the `toned` stage).
    "tone_mode": {"en": "Fading and colour cast", "zh": "褪色和偏色"},
    "tone_auto": {"en": "Automatic (faded prints only)", "zh": "自动（只修复褪色的照片）"},
    "tone_on": {"en": "Always correct", "zh": "总是校正"},
    "tone_off": {"en": "Never", "zh": "不校正"},
    "tone_restored": {"en": "Fading corrected: black and white points and colour balance restored.", "zh": "已校正褪色：恢复了黑白点和色彩平衡。"},
    "repair_made_with": {"en": "On {device} in {seconds} s", "zh": "{device} 上用时 {seconds} 秒"},
    "mask_hint": {"en": "Red is repaired. Paint over scratches and dust that were missed; use the eraser where the repair should leave the photo alone (blue).", "zh": "红色的地方会被修复。漏掉的划痕和污点请涂上；不该修的地方用橡皮擦（显示为蓝色）。"},
    "mask_canvas": {"en": "Repair mask: paint with one finger", "zh": "修复区域：用一根手指涂抹"},
    "mask_zoom_hint": {"en": "Zoom in with two fingers to paint thin scratches.", "zh": "双指放大可以涂细小的划痕。"},
    "mask_brush": {"en": "Repair here", "zh": "修这里"},
    "mask_eraser": {"en": "Don't repair here", "zh": "不修这里"},
    "mask_size": {"en": "Brush size", "zh": "笔刷大小"},
    "mask_undo": {"en": "Undo", "zh": "撤销"},
    "mask_clear": {"en": "Clear", "zh": "清除"},
    "mask_submit": {"en": "Repair again", "zh": "重新修复划痕"},
    "mask_sending": {"en": "Saving…", "zh": "正在保存…"},
    "mask_saved": {"en": "Saved: the photo is repaired again with your corrections.", "zh": "已保存：照片会按你的修改重新修复。"},
    "mask_failed": {"en": "Not saved:", "zh": "没有保存："},
    "mask_repair_off": {"en": "Repair is off for this photo: “Repair again” turns it back to automatic.", "zh": "这张照片关闭了修复：点“重新修复”会改回自动修复。"},
    "mask_hand_repaired": {"en": "A hand-repaired image (touchups/repaired/) replaces the repair of this photo: corrections painted here take effect once it is removed.", "zh": "这张照片用的是手工修复的图片（touchups/repaired/）：删掉它以后，这里的修改才会生效。"},
    "mask_not_scanned": {"en": "The repair mask can be corrected once the photo has been scanned.", "zh": "照片扫描处理后才能修改修复区域。"},
    "mask_corrections_kept": {"en": "Your earlier corrections are kept; paint over them to change them.", "zh": "你之前的修改会保留；在上面重新涂抹即可更改。"},
    "mask_forget": {"en": "Forget my corrections", "zh": "放弃我的修改"},
    "mask_forget_confirm": {"en": "Forget every correction of this photo's repair mask?", "zh": "放弃对这张照片修复区域的所有修改？"},
    # The owner's Frame panel (routes_framing.py, static/framing.js): the print's corners and a turn.
    "frame": {"en": "Frame and turn", "zh": "裁切和旋转"},
    "frame_hint": {"en": "Drag the four round handles onto the print's corners; the photo is straightened and cut to them. Turn it if it lies sideways.", "zh": "把四个圆形把手拖到照片的四个角上，照片会按它们摆正并裁切。照片躺倒了就旋转它。"},
    "frame_last_manual": {"en": "Framed by hand.", "zh": "已手动裁切。"},
    "frame_last_automatic": {"en": "Framed automatically.", "zh": "已自动裁切。"},
    "frame_last_none": {"en": "Not framed: the whole picture is restored.", "zh": "没有裁切：修复的是整张图。"},
    "frame_area": {"en": "The original with the print's four corners", "zh": "原图和照片的四个角"},
    "frame_corner_0": {"en": "Top-left corner", "zh": "左上角"},
    "frame_corner_1": {"en": "Top-right corner", "zh": "右上角"},
    "frame_corner_2": {"en": "Bottom-right corner", "zh": "右下角"},
    "frame_corner_3": {"en": "Bottom-left corner", "zh": "左下角"},
    "frame_rotate_left": {"en": "Turn left", "zh": "向左转"},
    "frame_rotate_right": {"en": "Turn right", "zh": "向右转"},
    "frame_turned": {"en": "Turned {degrees}° clockwise", "zh": "顺时针转了 {degrees}°"},
    "frame_save": {"en": "Save and restore again", "zh": "保存并重新修复"},
    "frame_saved": {"en": "Saved: the photo is restored again from its scan.", "zh": "已保存：照片会从扫描开始重新修复。"},
    "frame_not_convex": {"en": "The corners cross over: put each handle on its own corner.", "zh": "四个角交叉了：请把每个把手放到各自的角上。"},
    "frame_reset": {"en": "Reset to automatic", "zh": "恢复自动"},
    "frame_reset_confirm": {"en": "Forget your framing and turn of this photo and restore it again?", "zh": "放弃这张照片的裁切和旋转，并重新修复？"},
    "frame_not_scanned": {"en": "The frame can be set once the pipeline has picked the photo up.", "zh": "处理流程接收这张照片后才能裁切。"},
    "title": {"en": "Title", "zh": "标题"},
    "back": {"en": "Back", "zh": "返回"},
    "login": {"en": "Log in", "zh": "登录"},
    "logout": {"en": "Log out", "zh": "退出"},
    "password": {"en": "Password", "zh": "密码"},
    "wrong_password": {"en": "Wrong password.", "zh": "密码不对。"},
    "too_many_attempts": {"en": "Too many attempts; try again in {s} seconds.", "zh": "尝试次数太多，请 {s} 秒后再试。"},
    "no_password": {"en": "No owner password yet: run `restore-photos password` on the server.", "zh": "还没有设置密码：请在服务器上运行 `restore-photos password`。"},
    "not_found": {"en": "Not found.", "zh": "找不到。"},
    "error": {"en": "Something went wrong", "zh": "出错了"},
    "language": {"en": "中文", "zh": "English"},
    "photo": {"en": "Photo", "zh": "照片"},
}

from restore_dagster.viewer.i18n_variations import VARIATIONS_MESSAGES  # noqa: E402 (the panel keeps its own strings)

MESSAGES.update(VARIATIONS_MESSAGES)


def pick_language(accept_language: str | None, cookie: str | None = None) -> str:
    """``en`` or ``zh``: the cookie if valid, else the browser's most preferred of the two."""
    if cookie in LANGUAGES:
        return cookie
    ranked = []
    for position, part in enumerate((accept_language or "").split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        params = params.strip()
        try:
            q = float(params[2:]) if params.startswith("q=") else 1.0
        except ValueError:
            q = 0.0
        lang = tag.strip().lower().split("-")[0]
        if lang in LANGUAGES and q > 0:
            ranked.append((q, -position, lang))  # equal weights: the header's order is the user's order
    return max(ranked)[2] if ranked else "en"


def translator(lang: str):
    def t(key: str, **values) -> str:
        text = MESSAGES[key][lang]
        return text.format(**values) if values else text

    return t
