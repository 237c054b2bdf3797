// Interface text in Chinese (default) and English. Elements carry data-i18n
// (text), data-i18n-placeholder or data-i18n-title; t() serves scripts.

const dict = {
  zh: {
    title: '一网统管 · 指挥中心',
    searchPlaceholder: '搜索地址或网格编码',
    live: '实时', liveTitle: '实时事件推送', liveOff: '推送中断，正在重连',
    today: '今日', days7: '近7天', days30: '近30天', custom: '自定义',
    allCategories: '全部类别', allSeverities: '全部等级',
    sev_urgent: '紧急', sev_important: '重要', sev_general: '一般',
    st_reported: '已上报', st_dispatched: '已派遣', st_handling: '处置中', st_resolved: '已办结',
    st_closed: '已结案', st_cancelled: '已撤销',
    src_patrol: '网格巡查', src_qr: '扫码上报', src_hotline: '12345热线', src_app: 'APP', src_sensor: '物联感知', src_other: '其他',
    lvl_city: '全域', lvl_district: '区', lvl_street: '街道', lvl_community: '社区', lvl_grid: '网格', lvl_micro_grid: '微网格',
    wholeArea: '全域', inView: '当前视野', areas: '区域',
    households: '户数', people: '人口', tagged_people: '重点人群', events: '事件数',
    open: '在办', overdue: '超期', closed_on_time: '按期办结率',
    per1000: '每千户事件', median_close_hours: '办结中位时长',
    hours: '小时', windowLabel: '时间窗', unavailable: '—', loading: '加载中…',
    layers: '图层', layer_admin: '行政区划', layer_grids: '网格', layer_buildings: '建筑',
    layer_addresses: '地址', layer_events: '事件点', layer_events_h3: '事件密度 (H3)',
    layer_hotspots: '热点', layer_households_h3: '户籍密度 (H3)',
    layerUnavailable: '暂无此图层', layerZoomHint: '放大后显示',
    feed: '实时事件', feedEmpty: '等待新事件…', newEvent: '新事件',
    eventDetails: '事件详情', category: '类别', severity: '等级', status: '状态', source: '来源',
    reportedAt: '上报时间', ageDays: '已上报天数', escalation: '升级', grid: '网格', yes: '是', no: '否',
    building: '建筑', address: '地址', floors: '层数', use: '用途', householdsHere: '户数',
    use_residential: '住宅', use_commercial: '商业', use_office: '办公', use_public: '公共', use_industrial: '工业',
    close: '关闭', noResults: '无结果', searching: '搜索中…', gridCode: '网格编码',
    legendEvents: '事件', legendDensity: '事件密度', legendOverdue: '超期',
    suppressed: '数量过小，已隐藏', severityNoteH3: '密度图不按等级筛选',
    kpiScopeView: '视野内各单元合计', errorLoad: '数据加载失败',
    suppressedNote: '“—”：样本少于隐私阈值（5），不予显示',
    hotspotAlert: '热点预警', hot_new: '新增热点', hot_intensifying: '热点加剧', hot_persistent: '持续热点',
    loginTitle: '登录', loginName: '用户名', loginPassword: '密码', loginSubmit: '登录',
    loginWrong: '用户名或密码错误', loginTooMany: '尝试次数过多，请稍后再试', loginFailed: '登录失败，请稍后再试',
    sessionEnded: '会话已结束，请重新登录', loginHint: '请使用分配给您的账号登录，您只能看到辖区内的数据。',
    pwTitle: '修改初始密码', pwIntro: '首次登录须将一次性密码改为您自己的密码。',
    pwOld: '当前（一次性）密码', pwNew: '新密码（至少 10 个字符）', pwRepeat: '再次输入新密码', pwSubmit: '修改并进入',
    pwMismatch: '两次输入的新密码不一致', pwWrongCurrent: '当前密码不正确', pwTooShort: '新密码至少 {n} 个字符',
    pwSame: '新密码不能与当前密码相同', pwTooLong: '新密码过长', pwFailed: '修改失败，请稍后再试',
    logout: '退出登录', publicVisitor: '公众访问（仅汇总数据）',
    role_admin: '系统管理员', role_command: '指挥中心', role_officer: '街道/社区干部', role_grid_worker: '网格员',
    role_handler: '部门处置', role_planner: '规划', role_analyst: '统计分析', role_auditor: '审计', role_public: '公众',
    hhTitle: '住户（已脱敏）', hhMembers: '{n} 人', hhMore: '更多', hhNone: '无住户',
    f_head_name: '户主', f_phone: '电话', f_id_no: '身份证号',
    auditNotice: '查看明文须说明理由；每次查看（谁、何时、哪一户、哪些字段、理由）都记入审计日志。',
    unmask: '查看明文', unmaskFields: '字段', unmaskReason: '理由（记入审计日志）', unmaskReasonHint: '例如：入户走访需联系户主',
    unmaskSubmit: '确认查看', cancel: '取消', unmaskPickField: '请选择要查看的字段', unmaskReasonShort: '请填写理由（至少 4 个字）',
    unmaskForbidden: '无权查看该户明文', unmaskNoKey: '服务器未配置数据密钥，无法查看明文', unmaskFailed: '查看失败，请稍后再试',
    unmaskNone: '（无记录）', unmaskedNote: '已显示明文；本次查看已记入审计日志。',
  },
  en: {
    title: 'OneGrid · Command Centre',
    searchPlaceholder: 'Search an address or grid code',
    live: 'Live', liveTitle: 'Live event stream', liveOff: 'Stream lost, reconnecting',
    today: 'Today', days7: '7 days', days30: '30 days', custom: 'Custom',
    allCategories: 'All categories', allSeverities: 'All severities',
    sev_urgent: 'Urgent', sev_important: 'Important', sev_general: 'General',
    st_reported: 'Reported', st_dispatched: 'Dispatched', st_handling: 'Handling', st_resolved: 'Resolved',
    st_closed: 'Closed', st_cancelled: 'Cancelled',
    src_patrol: 'Patrol', src_qr: 'QR code', src_hotline: 'Hotline 12345', src_app: 'App', src_sensor: 'Sensor', src_other: 'Other',
    lvl_city: 'Whole area', lvl_district: 'District', lvl_street: 'Street', lvl_community: 'Community', lvl_grid: 'Grid', lvl_micro_grid: 'Micro-grid',
    wholeArea: 'Whole area', inView: 'In view', areas: 'Areas',
    households: 'Households', people: 'People', tagged_people: 'Tagged people', events: 'Events',
    open: 'Open', overdue: 'Overdue', closed_on_time: 'Closed on time',
    per1000: 'Events / 1,000 households', median_close_hours: 'Median time to close',
    hours: 'h', windowLabel: 'Window', unavailable: '—', loading: 'Loading…',
    layers: 'Layers', layer_admin: 'Admin units', layer_grids: 'Grids', layer_buildings: 'Buildings',
    layer_addresses: 'Addresses', layer_events: 'Events', layer_events_h3: 'Event density (H3)',
    layer_hotspots: 'Hotspots', layer_households_h3: 'Household density (H3)',
    layerUnavailable: 'not available', layerZoomHint: 'zoom in to see',
    feed: 'Live events', feedEmpty: 'Waiting for new events…', newEvent: 'New event',
    eventDetails: 'Event', category: 'Category', severity: 'Severity', status: 'Status', source: 'Source',
    reportedAt: 'Reported', ageDays: 'Days since reported', escalation: 'Escalated', grid: 'Grid', yes: 'yes', no: 'no',
    building: 'Building', address: 'Address', floors: 'Floors', use: 'Use', householdsHere: 'Households',
    use_residential: 'Residential', use_commercial: 'Commercial', use_office: 'Office', use_public: 'Public', use_industrial: 'Industrial',
    close: 'Close', noResults: 'No results', searching: 'Searching…', gridCode: 'Grid code',
    legendEvents: 'Events', legendDensity: 'Event density', legendOverdue: 'Overdue',
    suppressed: 'too few to show', severityNoteH3: 'density ignores severity',
    kpiScopeView: 'sum of units in view', errorLoad: 'Could not load data',
    suppressedNote: '“—”: fewer than the privacy threshold (5), not shown',
    hotspotAlert: 'Hotspot alert', hot_new: 'new hot spot', hot_intensifying: 'intensifying', hot_persistent: 'persistent',
    loginTitle: 'Log in', loginName: 'User name', loginPassword: 'Password', loginSubmit: 'Log in',
    loginWrong: 'Wrong user name or password', loginTooMany: 'Too many attempts: try again later', loginFailed: 'Could not log in: try again later',
    sessionEnded: 'Your session has ended: log in again', loginHint: 'Log in with the account you were given; you see the data of your jurisdiction only.',
    pwTitle: 'Change your one-time password', pwIntro: 'At first login, replace the one-time password with one of your own.',
    pwOld: 'Current (one-time) password', pwNew: 'New password (at least 10 characters)', pwRepeat: 'New password again', pwSubmit: 'Change and continue',
    pwMismatch: 'The two new passwords differ', pwWrongCurrent: 'The current password is wrong', pwTooShort: 'The new password needs at least {n} characters',
    pwSame: 'The new password must differ from the current one', pwTooLong: 'The new password is too long', pwFailed: 'Could not change the password: try again later',
    logout: 'Log out', publicVisitor: 'Public visitor (aggregates only)',
    role_admin: 'Administrator', role_command: 'Command centre', role_officer: 'Officer', role_grid_worker: 'Grid worker',
    role_handler: 'Handler', role_planner: 'Planner', role_analyst: 'Analyst', role_auditor: 'Auditor', role_public: 'Public',
    hhTitle: 'Households (masked)', hhMembers: '{n} people', hhMore: 'More', hhNone: 'no households',
    f_head_name: 'Head', f_phone: 'Phone', f_id_no: 'ID number',
    auditNotice: 'Clear values need a stated reason; each unmasking (who, when, which household, which fields, why) is written to the audit log.',
    unmask: 'Show clear values', unmaskFields: 'Fields', unmaskReason: 'Reason (written to the audit log)', unmaskReasonHint: 'e.g. home visit: need to call the head',
    unmaskSubmit: 'Show', cancel: 'Cancel', unmaskPickField: 'Choose the fields to show', unmaskReasonShort: 'State a reason (at least 4 characters)',
    unmaskForbidden: 'You may not see this household\'s clear values', unmaskNoKey: 'The server has no data key: clear values cannot be opened', unmaskFailed: 'Could not show the clear values: try again later',
    unmaskNone: '(none on record)', unmaskedNote: 'Clear values shown; this unmasking is in the audit log.',
  },
};

let lang = (() => {
  try { return localStorage.getItem('onegrid.lang') === 'en' ? 'en' : 'zh'; } catch { return 'zh'; }
})();

const listeners = [];

/** The current language, 'zh' or 'en'. */
export function getLang() { return lang; }

/** Text for key in the current language; {name} placeholders are filled from vars. */
export function t(key, vars) {
  let s = dict[lang][key] ?? dict.zh[key] ?? key;
  if (vars) s = s.replace(/\{(\w+)\}/g, (_, k) => vars[k] ?? '');
  return s;
}

/** Text for key if there is one, otherwise fallback. */
export function tOr(key, fallback) {
  return dict[lang][key] ?? fallback;
}

/** Switches language, re-labels the page and tells listeners. */
export function setLang(l) {
  lang = l === 'en' ? 'en' : 'zh';
  try { localStorage.setItem('onegrid.lang', lang); } catch { /* private mode */ }
  applyI18n(document);
  for (const f of listeners) f(lang);
}

/** Calls f after every language change. */
export function onLangChange(f) { listeners.push(f); }

/** Re-labels every element under root that carries data-i18n attributes. */
export function applyI18n(root) {
  document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
  document.title = t('title');
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-placeholder]')) el.placeholder = t(el.dataset.i18nPlaceholder);
  for (const el of root.querySelectorAll('[data-i18n-title]')) el.title = t(el.dataset.i18nTitle);
}

/** Formats a number for the current language (grouping, at most `digits` decimals). */
export function num(n, digits = 0) {
  if (n == null || Number.isNaN(n)) return '—';
  return new Intl.NumberFormat(lang === 'zh' ? 'zh-CN' : 'en-GB', { maximumFractionDigits: digits }).format(n);
}

/** Formats an instant in China Standard Time. */
export function dateTime(d) {
  if (!(d instanceof Date)) d = new Date(d);
  if (Number.isNaN(d.getTime())) return '—';
  return new Intl.DateTimeFormat(lang === 'zh' ? 'zh-CN' : 'en-GB', {
    timeZone: 'Asia/Shanghai', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit',
  }).format(d);
}
