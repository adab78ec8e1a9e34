import type { Messages } from './zh-CN.ts'

/** English UI strings; must cover every key of the zh-CN table (checked by the type). */
export const en: Messages = {
  'app.name': 'OneGrid',
  'app.shortName': 'OneGrid',

  'lang.label': 'Language',
  'lang.zh-CN': '中文',
  'lang.en': 'English',

  'login.title': 'Sign in',
  'login.subtitle': 'City operations command center',
  'login.username': 'Username',
  'login.password': 'Password',
  'login.submit': 'Sign in',
  'login.submitting': 'Signing in…',
  'login.required': 'Enter your username and password',
  'login.networkError': 'Cannot reach the server, please try again',
  'login.sessionExpired': 'Your session has ended, please sign in again',

  'session.logout': 'Sign out',
  'session.signedInAs': 'Signed in as {name}',

  'face.wall': 'Command Wall',
  'face.seat': 'Dispatcher Seat',
  'face.cockpit': 'Leader Cockpit',
  'face.field': 'Field App',
  'face.admin': 'Administration',
  'face.comingSoon': 'The {face} is coming soon.',
  'face.backToWall': 'Go to the command wall',

  'wall.title': 'OneGrid · Command Wall',
  'wall.clockLabel': 'Beijing time',
  'wall.serverTime': 'Server time',
  'wall.serverTimeUnknown': '—',
  'wall.mapLoading': 'Loading map…',

  'socket.connecting': 'Connecting',
  'socket.connected': 'Connected',
  'socket.disconnected': 'Disconnected',
  'socket.unauthorized': 'Unauthorized',

  'legend.title': 'Legend',
  'legend.gridFill': 'Grid cell',
  'legend.gridLine': 'Grid boundary',
  'legend.demoArea': 'Demo area',

  'error.generic': 'Something went wrong: {message}',
}
