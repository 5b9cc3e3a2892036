/** A tiny history-API router: six routes, links intercepted at the document. */
export type Route =
  | { name: 'home' }
  | { name: 'broadcast' }
  /** The connection self-test. */
  | { name: 'check' }
  /** `room` is the raw path segment; the watch page decides whether it is a valid code. */
  | { name: 'watch'; room: string }
  /** The public HLS mirror page; `room` is raw like `watch`. */
  | { name: 'live'; room: string }
  | { name: 'not-found'; path: string };

export function matchRoute(pathname: string): Route {
  const path = pathname.length > 1 ? pathname.replace(/\/+$/, '') : pathname;
  if (path === '/' || path === '') return { name: 'home' };
  if (path === '/broadcast') return { name: 'broadcast' };
  if (path === '/check') return { name: 'check' };
  const roomPage = /^\/(watch|live)\/([^/]+)$/.exec(path);
  if (roomPage?.[1] && roomPage[2]) {
    let room = roomPage[2];
    try {
      room = decodeURIComponent(room);
    } catch {
      // keep the raw segment; it will simply not be a valid code
    }
    return { name: roomPage[1] === 'live' ? 'live' : 'watch', room };
  }
  return { name: 'not-found', path };
}

export function watchPath(room: string): string {
  return `/watch/${encodeURIComponent(room)}`;
}

/** The public HLS mirror page of a room. */
export function livePath(room: string): string {
  return `/live/${encodeURIComponent(room)}`;
}

/** True when a click on this anchor should be handled by the router rather than the browser. */
export function shouldIntercept(event: MouseEvent, anchor: HTMLAnchorElement, origin: string) {
  if (event.defaultPrevented || event.button !== 0) return false;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return false;
  if (anchor.target && anchor.target !== '_self') return false;
  if (anchor.hasAttribute('download') || anchor.getAttribute('rel') === 'external') return false;
  return anchor.origin === origin;
}

export class Router {
  path = $state('/');
  route = $derived(matchRoute(this.path));

  constructor(initialPath = '/') {
    this.path = initialPath;
  }

  navigate(to: string, options: { replace?: boolean } = {}): void {
    if (typeof history !== 'undefined') {
      if (options.replace) history.replaceState(null, '', to);
      else history.pushState(null, '', to);
    }
    this.path = to.replace(/[?#].*$/, '') || '/';
    if (typeof window !== 'undefined') window.scrollTo(0, 0);
  }

  /** Listens for back/forward and same-origin link clicks; returns the cleanup. */
  start(): () => void {
    const handlePopState = () => {
      this.path = location.pathname;
    };
    const handleClick = (event: MouseEvent) => {
      const anchor = (event.target as Element | null)?.closest?.('a');
      if (!anchor || !shouldIntercept(event, anchor, location.origin)) return;
      event.preventDefault();
      this.navigate(anchor.pathname + anchor.search + anchor.hash);
    };
    window.addEventListener('popstate', handlePopState);
    document.addEventListener('click', handleClick);
    return () => {
      window.removeEventListener('popstate', handlePopState);
      document.removeEventListener('click', handleClick);
    };
  }
}

export const router = new Router(typeof location === 'undefined' ? '/' : location.pathname);
