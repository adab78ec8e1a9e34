/**
 * Simplified Chinese UI strings — the default language and the source of truth for message keys.
 * Placeholders use `{name}` and are filled by `t(key, params)` in `useI18n`.
 */
export const zhCN = {
  'app.name': '城市运行一网统管',
  'app.shortName': 'OneGrid',

  'lang.label': '语言',
  'lang.zh-CN': '中文',
  'lang.en': 'English',

  'login.title': '登录',
  'login.subtitle': 'OneGrid · 城市运行指挥中心',
  'login.username': '用户名',
  'login.password': '密码',
  'login.submit': '登录',
  'login.submitting': '正在登录…',
  'login.required': '请输入用户名和密码',
  'login.networkError': '无法连接服务器，请稍后重试',
  'login.sessionExpired': '登录已失效，请重新登录',

  'session.logout': '退出登录',
  'session.signedInAs': '当前用户：{name}',

  'face.wall': '指挥大屏',
  'face.seat': '坐席工作台',
  'face.cockpit': '领导驾驶舱',
  'face.field': '网格员移动端',
  'face.admin': '系统管理',
  'face.comingSoon': '“{face}”正在建设中，敬请期待。',
  'face.backToWall': '前往指挥大屏',

  'wall.title': '城市运行一网统管 · 指挥大屏',
  'wall.clockLabel': '北京时间',
  'wall.serverTime': '服务器时间',
  'wall.serverTimeUnknown': '—',
  'wall.mapLoading': '地图加载中…',

  'socket.connecting': '连接中',
  'socket.connected': '已连接',
  'socket.disconnected': '已断开',
  'socket.unauthorized': '未授权',

  'legend.title': '图例',
  'legend.gridFill': '网格',
  'legend.gridLine': '网格边界',
  'legend.demoArea': '演示区范围',

  'error.generic': '出错了：{message}',
} as const satisfies Record<string, string>

/** Every message key of the UI. */
export type MessageKey = keyof typeof zhCN

/** A complete message table for one language. */
export type Messages = Record<MessageKey, string>
