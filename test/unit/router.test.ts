import { describe, expect, it } from 'vitest';
import {
  Router,
  livePath,
  matchRoute,
  shouldIntercept,
  watchPath,
} from '../../client/src/lib/router.svelte';

describe('matchRoute', () => {
  it('matches the four routes', () => {
    expect(matchRoute('/')).toEqual({ name: 'home' });
    expect(matchRoute('/broadcast')).toEqual({ name: 'broadcast' });
    expect(matchRoute('/broadcast/')).toEqual({ name: 'broadcast' });
    expect(matchRoute('/check')).toEqual({ name: 'check' });
    expect(matchRoute('/watch/123456')).toEqual({ name: 'watch', room: '123456' });
    expect(matchRoute('/watch/abc')).toEqual({ name: 'watch', room: 'abc' });
    expect(matchRoute('/nope')).toEqual({ name: 'not-found', path: '/nope' });
    expect(matchRoute('/watch/1/2')).toEqual({ name: 'not-found', path: '/watch/1/2' });
    expect(matchRoute('/watch/')).toEqual({ name: 'not-found', path: '/watch' });
  });

  it('survives a malformed escape in the room segment', () => {
    expect(matchRoute('/watch/%E0%A4%A')).toEqual({ name: 'watch', room: '%E0%A4%A' });
  });

  it('builds watch paths', () => {
    expect(watchPath('123456')).toBe('/watch/123456');
  });

  it('matches the HLS mirror page /live/:room, raw like /watch', () => {
    expect(matchRoute('/live/123456')).toEqual({ name: 'live', room: '123456' });
    expect(matchRoute('/live/123456/')).toEqual({ name: 'live', room: '123456' });
    expect(matchRoute('/live/abc')).toEqual({ name: 'live', room: 'abc' });
    expect(matchRoute('/live/')).toEqual({ name: 'not-found', path: '/live' });
    expect(matchRoute('/live/1/2')).toEqual({ name: 'not-found', path: '/live/1/2' });
    expect(livePath('123456')).toBe('/live/123456');
  });
});

describe('Router', () => {
  it('navigates and derives the route from the path', () => {
    const router = new Router('/');
    expect(router.route).toEqual({ name: 'home' });
    router.navigate('/watch/654321?x=1#y');
    expect(router.path).toBe('/watch/654321');
    expect(router.route).toEqual({ name: 'watch', room: '654321' });
  });
});

describe('shouldIntercept', () => {
  const anchor = (attrs: Record<string, string> = {}, origin = 'http://app') =>
    ({
      origin,
      target: attrs.target ?? '',
      hasAttribute: (name: string) => name in attrs,
      getAttribute: (name: string) => attrs[name] ?? null,
    }) as unknown as HTMLAnchorElement;
  const click = (init: Partial<MouseEvent> = {}) =>
    ({
      defaultPrevented: false,
      button: 0,
      metaKey: false,
      ctrlKey: false,
      shiftKey: false,
      altKey: false,
      ...init,
    }) as MouseEvent;

  it('takes plain same-origin left clicks only', () => {
    expect(shouldIntercept(click(), anchor(), 'http://app')).toBe(true);
    expect(shouldIntercept(click({ ctrlKey: true }), anchor(), 'http://app')).toBe(false);
    expect(shouldIntercept(click({ button: 1 }), anchor(), 'http://app')).toBe(false);
    expect(shouldIntercept(click(), anchor({ target: '_blank' }), 'http://app')).toBe(false);
    expect(shouldIntercept(click(), anchor({ download: '' }), 'http://app')).toBe(false);
    expect(shouldIntercept(click(), anchor({}, 'http://other'), 'http://app')).toBe(false);
  });
});
