/**
 * The URL rules of static hosts (worker/site.ts resolveFile) and Netlify's `_redirects` subset (worker/redirects.ts):
 * clean URLs, folder redirects, index pages, the 404 page, `--spa`, redirects, rewrites, placeholders, splats, force,
 * and the parser's warnings for what it leaves out.
 */
import { describe, expect, it } from 'vitest'
import { UsageError } from '../../../engine/errors.js'
import { matchPattern, MAX_REDIRECT_RULES, parseRedirects, validRules, type RedirectRule } from '../../../worker/redirects.js'
import { createSite, parseManifest, relativePath, resolveFile, siteResponse, type OpenBody, type Site } from '../../../worker/site.js'

const INFOHASH = 'bb'.repeat(20)
const SCOPE = new URL('https://host.example/sub/')
const html = (path: string): { path: string, length: number, type: string } => ({ path, length: 10, type: 'text/html' })

const FILES = [
  html('index.html'), html('about.html'), html('404.html'), html('guide/page.html'), html('guide/index.html'),
  html('both.html'), html('both/index.html'), html('posts/2024/hello.html'), html('new/place.html'), html('app/index.html'),
  { path: '_redirects', length: 100, type: 'application/octet-stream' }, { path: 'app.js', length: 5, type: 'text/javascript' }
]

function siteWith (redirects: string, spa = false): Site {
  const { rules, warnings } = parseRedirects(redirects)
  expect(warnings).toEqual([])
  return createSite({ infoHash: INFOHASH, files: FILES, redirects: rules, spa })
}

/** What `rel` resolves to, in one readable string: a file (with its status when not 200), a redirect, or a kind. */
function resolved (site: Site, rel: string): string {
  const url = new URL(rel, SCOPE)
  const r = resolveFile(site, relativePath(url, SCOPE) ?? '', url)
  if (r.kind === 'file') return r.file.path + (r.status === 404 ? ' 404' : '')
  if (r.kind === 'redirect') return `${r.status ?? 301} ${r.location}`
  return r.kind
}

describe('the static host rules (GitHub Pages, Netlify)', () => {
  const site = siteWith('')
  it('serves a/b.html for /a/b, the folder redirect for /a, index.html in folders, not-found otherwise', () => {
    expect(resolved(site, 'about')).toBe('about.html')
    expect(resolved(site, 'about.html')).toBe('about.html')
    expect(resolved(site, 'guide/page')).toBe('guide/page.html')
    expect(resolved(site, 'posts/2024/hello?x=1')).toBe('posts/2024/hello.html')
    expect(resolved(site, 'guide')).toBe('301 https://host.example/sub/guide/')
    expect(resolved(site, 'guide/')).toBe('guide/index.html')
    expect(resolved(site, '')).toBe('index.html')
    expect(resolved(site, 'index')).toBe('index.html')
    // a folder wins over a page of the same name, as the rule says (/a/b -> a/b.html only without a/b/)
    expect(resolved(site, 'both')).toBe('301 https://host.example/sub/both/')
    expect(resolved(site, 'both.html')).toBe('both.html')
    // a trailing slash asks for a folder: no clean-URL page behind it (GitHub Pages answers 404)
    expect(resolved(site, 'about/')).toBe('not-found')
    expect(resolved(site, 'nope')).toBe('not-found')
    expect(resolved(site, 'guide/page.html.html')).toBe('not-found')
  })

  it('never serves _redirects itself (as Netlify), though the torrent carries it', () => {
    expect(resolved(site, '_redirects')).toBe('not-found')
    expect(site.files.has('_redirects')).toBe(false)
  })

  it('--spa: unknown paths get the root index.html with 200; files, folders and clean URLs first', () => {
    const spa = siteWith('', true)
    expect(resolved(spa, 'dashboard/settings')).toBe('index.html')
    expect(resolved(spa, 'deep/er/')).toBe('index.html')
    expect(resolved(spa, 'about')).toBe('about.html')
    expect(resolved(spa, 'guide')).toBe('301 https://host.example/sub/guide/')
    expect(resolved(spa, 'app.js')).toBe('app.js')
  })
})

describe('_redirects rules', () => {
  const site = siteWith(`
# comments and blank lines are skipped

/old-about          /about                301
/temp               /new/place            302
/blog/:year/:slug   /posts/:year/:slug    301
/docs/*             /guide/:splat         308
/shop/*             https://shop.example/:splat
/app/*              /app/index.html       200
/gone               /404.html             404
/about              /new/place            301
/forced             /new/place            200!
/index.html         /about                302!
/rel/*              /new/place?from=rel   302
`)

  it('redirects with the rule\'s status, placeholders and splat, relative to the site root', () => {
    expect(resolved(site, 'old-about')).toBe('301 https://host.example/sub/about')
    expect(resolved(site, 'old-about/')).toBe('301 https://host.example/sub/about') // with or without the slash
    expect(resolved(site, 'temp?q=1')).toBe('302 https://host.example/sub/new/place?q=1') // the query goes along
    expect(resolved(site, 'blog/2024/hello')).toBe('301 https://host.example/sub/posts/2024/hello')
    expect(resolved(site, 'blog/2024')).toBe('not-found') // a placeholder is one whole segment
    expect(resolved(site, 'docs/a/b.html')).toBe('308 https://host.example/sub/guide/a/b.html')
    expect(resolved(site, 'docs')).toBe('308 https://host.example/sub/guide/') // * matches nothing too
    expect(resolved(site, 'shop/cart/1')).toBe('301 https://shop.example/cart/1')
    expect(resolved(site, 'rel/x?a=1')).toBe('302 https://host.example/sub/new/place?from=rel') // the target's own query wins
  })

  it('rewrites (200) and custom 404s serve the target\'s file at the same URL', () => {
    expect(resolved(site, 'app/users/42')).toBe('app/index.html')
    expect(resolved(site, 'gone')).toBe('404.html 404')
  })

  it('does not shadow existing files unless forced (!)', () => {
    expect(resolved(site, 'about')).toBe('about.html') // /about has a file (clean URL): the rule waits
    expect(resolved(site, 'app/')).toBe('app/index.html')
    expect(resolved(site, 'forced')).toBe('new/place.html')
    expect(resolved(site, 'index.html')).toBe('302 https://host.example/sub/about')
  })

  it('a rewrite never goes through the rules again, and an absent target is not found', () => {
    const chained = siteWith('/a /b 200\n/b /about 200\n/missing /nothing-here 200')
    expect(resolved(chained, 'a')).toBe('not-found') // b is no file: no second rule
    expect(resolved(chained, 'b')).toBe('about.html')
    expect(resolved(chained, 'missing')).toBe('not-found')
  })

  it('a rewrite cannot leave the site: its target is only ever a file of the table', () => {
    const escaping = siteWith('/x /../../etc/passwd 200\n/y /%2e%2e/secret 200')
    expect(resolved(escaping, 'x')).toBe('not-found')
    expect(resolved(escaping, 'y')).toBe('not-found')
  })

  it('answers a redirect to another site inside the shell\'s frame with a page that moves the whole window', async () => {
    const open: OpenBody = async () => { throw new Error('no read expected') }
    const url = new URL('shop/a', SCOPE)
    const plain = await siteResponse(new Request(url), url, 'shop/a', site, open)
    expect([plain.status, plain.headers.get('Location')]).toEqual([301, 'https://shop.example/a'])
    // Request.mode 'navigate' cannot be constructed in Node: a stand-in with the fields the worker reads.
    const frameNav = new Request(url)
    Object.defineProperty(frameNav, 'mode', { value: 'navigate' })
    Object.defineProperty(frameNav, 'destination', { value: 'iframe' })
    const moved = await siteResponse(frameNav, url, 'shop/a', site, open)
    expect(moved.status).toBe(200)
    expect(await moved.text()).toContain('top.location.replace("https://shop.example/a")')
  })
})

describe('a crafted _redirects cannot leave the site (audit: XSS and open redirects through placeholders)', () => {
  const site = siteWith('/go/* /:splat 301\n/u/:name /:name 302\n/blog/* /:splat 200\n/up /../../elsewhere 301\n/upx /../../about 200')
  const open: OpenBody = async () => { throw new Error('no read expected') }
  /** A navigation of the shell's frame (Request.mode 'navigate' cannot be constructed in Node: a stand-in). */
  function frameNavigation (url: URL): Request {
    const req = new Request(url)
    Object.defineProperty(req, 'mode', { value: 'navigate' })
    Object.defineProperty(req, 'destination', { value: 'iframe' })
    return req
  }

  it('a value that spells a scheme or a host stays a path below the site root, on its origin', () => {
    expect(resolved(site, 'go/javascript:alert(document.domain)')).toBe('301 https://host.example/sub/javascript:alert(document.domain)')
    expect(resolved(site, 'go///evil.example/x')).toBe('301 https://host.example/sub/evil.example/x')
    expect(resolved(site, 'go/http:evil.example')).toBe('301 https://host.example/sub/http:evil.example')
    expect(resolved(site, 'go/foo:bar')).toBe('301 https://host.example/sub/foo:bar')
    expect(resolved(site, 'go/%2F%2Fevil.example')).toBe('301 https://host.example/sub/%2F%2Fevil.example')
    expect(resolved(site, 'go/%5Cevil.example')).toBe('301 https://host.example/sub/%5Cevil.example')
    expect(resolved(site, 'u/javascript:alert(1)')).toBe('302 https://host.example/sub/javascript:alert(1)')
    expect(resolved(site, 'u/%2F%2Fevil.example')).toBe('302 https://host.example/sub/%2F%2Fevil.example')
    expect(resolved(site, 'go/about?x=1')).toBe('301 https://host.example/sub/about?x=1') // the ordinary use still works
    expect(resolved(site, 'blog/x:y')).toBe('not-found')
    expect(resolved(site, 'blog/about')).toBe('about.html')
  })

  it('a path target above the site root does not apply (not found), for redirects as for rewrites', () => {
    expect(resolved(site, 'up')).toBe('not-found')
    expect(resolved(site, 'upx')).toBe('not-found')
  })

  it('the frame page that moves the top window is never built for such a value', async () => {
    const url = new URL('go/javascript:alert(document.domain)', SCOPE)
    const res = await siteResponse(frameNavigation(url), url, relativePath(url, SCOPE)!, site, open)
    expect(res.status).toBe(301)
    expect(res.headers.get('Location')).toBe('https://host.example/sub/javascript:alert(document.domain)')
    expect(await res.text()).not.toContain('top.location')
  })

  it('rules peersite.json brings with another scheme are refused, and applied in place when they slip through', () => {
    for (const to of ['xjavascript:alert(1)', 'javascript:alert(1)', '/\\evil.example/', 'data:text/html,x', 'evil.example/x']) {
      expect(validRules([{ from: '/a', to, status: 301 }])).toBe(false)
    }
    expect(validRules([{ from: '/a', to: 'HTTPS://ok.example/:splat', status: 302 }])).toBe(true)
    // createSite takes rules as given (parseManifest checks them): even so, such a target stays below the root
    const raw = createSite({ infoHash: INFOHASH, files: FILES, redirects: [{ from: '/x', to: 'xjavascript:alert(1)', status: 301 }, { from: '/y', to: '/\\evil.example/', status: 302 }] })
    expect(resolved(raw, 'x')).toBe('301 https://host.example/sub/xjavascript:alert(1)')
    expect(resolved(raw, 'y')).toBe('302 https://host.example/sub/evil.example/')
    const { rules, warnings } = parseRedirects('/k /\\evil.example/x 301\n/l xjavascript:alert(1) 301')
    expect(rules).toEqual([])
    expect(warnings).toEqual([expect.stringContaining('line 1: "/\\evil.example/x" is neither a path'), expect.stringContaining('line 2: "xjavascript:alert(1)" is neither a path')])
  })
})

describe('_redirects match the decoded path, as the file table does', () => {
  const files = [...FILES, html('drafts/a.html')]
  const site = createSite({ infoHash: INFOHASH, files, redirects: parseRedirects('/drafts/* /404.html 404!\n/café /about 301\n/docs/* /guide/:splat 308').rules })

  it('a forced rule cannot be passed by encoding its path differently', () => {
    expect(resolved(site, 'drafts/a.html')).toBe('404.html 404')
    expect(resolved(site, '%64rafts/a.html')).toBe('404.html 404')
    expect(resolved(site, '%64rafts/%61.html')).toBe('404.html 404')
  })

  it('a rule with non-ASCII matches the encoded URL, and values are encoded again in the target', () => {
    expect(resolved(site, 'caf%C3%A9')).toBe('301 https://host.example/sub/about')
    expect(resolved(site, 'café')).toBe('301 https://host.example/sub/about')
    expect(resolved(site, 'docs/caf%C3%A9/%41')).toBe('308 https://host.example/sub/guide/caf%C3%A9/A')
    expect(resolved(site, 'docs/a%2Fb')).toBe('308 https://host.example/sub/guide/a%2Fb')
    expect(resolved(site, 'docs/50%25')).toBe('308 https://host.example/sub/guide/50%25')
    expect(resolved(site, 'docs/%E0%A4%A')).toBe('bad-request')
  })
})

describe('the _redirects parser', () => {
  it('reads Netlify\'s syntax: status, force, comments, default 301', () => {
    const { rules, warnings } = parseRedirects('/a /b\n/c /d 302 # trailing comment\n/e/* /f/:splat 200!\r\n')
    expect(warnings).toEqual([])
    expect(rules).toEqual<RedirectRule[]>([
      { from: '/a', to: '/b', status: 301 },
      { from: '/c', to: '/d', status: 302 },
      { from: '/e/*', to: '/f/:splat', status: 200, force: true }
    ])
  })

  it('leaves out what it cannot apply, with a warning naming the line (as Netlify\'s build does)', () => {
    const { rules, warnings } = parseRedirects([
      '/ok /fine',
      '/only-one',
      'relative /x',
      '/a /b 418',
      '/store id=:id /blog/:id 301',
      '/c /d 302 Country=us',
      '/e https://other.example/ 200',
      'https://old.example/* /new 301',
      '/f/*/g /h',
      '/i /j k',
      '/sw.js /evil.js 200',
      '/peersite.js /x 301',
      '/self /self 301',
      '/k //other.example/x 301'
    ].join('\n'))
    expect(rules).toEqual([{ from: '/ok', to: '/fine', status: 301 }])
    expect(warnings).toHaveLength(13)
    expect(warnings[0]).toMatch(/^_redirects line 2: needs a path and a target \(left out\): \/only-one$/)
    expect(warnings.map((w) => Number(/line (\d+)/.exec(w)?.[1]))).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14])
    expect(warnings.find((w) => w.includes('line 7'))).toContain('proxying')
    expect(warnings.find((w) => w.includes('line 11'))).toContain("loader's own file")
  })

  it('reads lines of 80,000 spaces in linear time (a crafted torrent\'s _redirects, which the gateways parse: the comment pattern backtracked for minutes)', () => {
    const pad = ' '.repeat(80_000)
    expect(parseRedirects(`/a${pad}/b`).rules).toEqual([{ from: '/a', to: '/b', status: 301 }])
    expect(parseRedirects(`/a${pad}/b${pad}302${pad}# note`).rules).toEqual([{ from: '/a', to: '/b', status: 302 }])
    expect(parseRedirects(`/a${pad}x`).warnings).toHaveLength(1)
  })

  it('refuses a file with more rules than every visitor should download', () => {
    const many = Array.from({ length: MAX_REDIRECT_RULES + 1 }, (_, i) => `/r${i} /t${i}`).join('\n')
    expect(() => parseRedirects(many)).toThrow(UsageError)
    expect(() => parseRedirects(many)).toThrow(/more than 1000 rules/)
  })

  it('matches patterns segment by segment, against the decoded path, each value encoded again', () => {
    expect(matchPattern('/a/:x/*', ['a', '1', '2', '3'])).toEqual(new Map([['x', '1'], ['splat', '2/3']]))
    expect(matchPattern('/a/:x', ['a', '1', '2'])).toBeNull()
    expect(matchPattern('/a/:x', ['a', ''])).toBeNull()
    expect(matchPattern('/*', [''])).toEqual(new Map([['splat', '']]))
    expect(matchPattern('/A', ['a'])).toBeNull() // case-sensitive, as on Netlify
    expect(matchPattern('/café', ['café'])).toEqual(new Map())
    expect(matchPattern('/caf%C3%A9', ['café'])).toEqual(new Map()) // a rule may spell it encoded too
    // a decoded "/" stays inside its segment and a "?" cannot come out of a value (a ":" is only a file name's: a
    // path target is resolved as "./" + it)
    expect(matchPattern('/go/*', ['go', 'a/b', 'javascript:x?y'])).toEqual(new Map([['splat', 'a%2Fb/javascript:x%3Fy']]))
    expect(matchPattern('/u/:name', ['u', '50% off'])).toEqual(new Map([['name', '50%25%20off']]))
  })

  it('keeps the characters RFC 3986 allows in a path segment (pchar) in a value, escapes the rest', () => {
    expect(matchPattern('/wiki/*', ['wiki', 'Help:Contents'])).toEqual(new Map([['splat', 'Help:Contents']]))
    expect(matchPattern('/pkg/*', ['pkg', '@scope', 'x'])).toEqual(new Map([['splat', '@scope/x']]))
    expect(matchPattern('/p/:v', ['p', "a:b@c+d,e;f=g$h&i!'()*~"])).toEqual(new Map([['v', "a:b@c+d,e;f=g$h&i!'()*~"]]))
    expect(matchPattern('/p/:v', ['p', 'a/b?c#d%e\\f g"<>[]^`{|}'])).toEqual(new Map([['v', 'a%2Fb%3Fc%23d%25e%5Cf%20g%22%3C%3E%5B%5D%5E%60%7B%7C%7D']]))
    const site = siteWith('/wiki/* https://en.wikipedia.org/wiki/:splat 301\n/pkg/* /packages/:splat 302\n/s/:q /find?q=:q&in=:q 302')
    expect(resolved(site, 'wiki/Help:Contents')).toBe('301 https://en.wikipedia.org/wiki/Help:Contents')
    expect(resolved(site, 'wiki/Help%3AContents')).toBe('301 https://en.wikipedia.org/wiki/Help:Contents')
    expect(resolved(site, 'pkg/@scope/x')).toBe('302 https://host.example/sub/packages/@scope/x')
    expect(resolved(site, 'pkg/a+b,c;d=e$f&g')).toBe('302 https://host.example/sub/packages/a+b,c;d=e$f&g')
    // In the target's query string a value cannot split or add parameters: its "&", "=", "+", ";" stay escaped.
    expect(resolved(site, 's/a&b=c+d;e:f@g')).toBe('302 https://host.example/sub/find?q=a%26b%3Dc%2Bd%3Be:f@g&in=a%26b%3Dc%2Bd%3Be:f@g')
  })

  it('checks the rules peersite.json brings (the static host is trusted for the loader, but not for its shape)', () => {
    expect(validRules([{ from: '/a', to: '/b', status: 301 }])).toBe(true)
    expect(validRules([{ from: 'a', to: '/b', status: 301 }])).toBe(false)
    expect(validRules([{ from: '/a', to: '//evil.example/', status: 301 }])).toBe(false)
    expect(validRules([{ from: '/a', to: '/b', status: 500 }])).toBe(false)
    const base = { version: 1, infoHash: INFOHASH, files: [] }
    expect(parseManifest({ ...base, redirects: [{ from: '/a', to: '/b', status: 302 }], spa: true }).spa).toBe(true)
    expect(() => parseManifest({ ...base, redirects: 'nope' })).toThrow(TypeError)
    expect(() => parseManifest({ ...base, spa: 'yes' })).toThrow(TypeError)
  })
})
