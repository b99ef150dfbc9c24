/**
 * Playwright configuration: galata's defaults, adapted to this machine and CI.
 *
 * - The port comes from MV_UI_PORT (default 8899), shared with jupyter_server_test_config.py.
 * - Debian's Chromium (/usr/bin/chromium, or CHROMIUM_PATH): `playwright install` is never run.
 * - Video off: it would need Playwright's own ffmpeg download.
 * - `list` reporter: galata's `github` reporter (chosen when CI is set) reads poorly in a log.
 */
const baseConfig = require('@jupyterlab/galata/lib/playwright-config');

const PORT = process.env.MV_UI_PORT || '8899';
const BASE_URL = `http://127.0.0.1:${PORT}`;

module.exports = {
  ...baseConfig,
  reporter: [['list'], ['html', { open: 'never' }]],
  workers: 1,
  // No retries, in CI either: a retry that passes hides a flaky spec instead of failing it.
  retries: 0,
  expect: {
    toHaveScreenshot: { maxDiffPixelRatio: 0.01 }
  },
  use: {
    ...baseConfig.use,
    baseURL: BASE_URL,
    trace: 'retain-on-failure',
    video: 'off',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--disable-dev-shm-usage'
      ]
    }
  },
  webServer: {
    command: 'jlpm start',
    url: `${BASE_URL}/lab`,
    timeout: 120 * 1000,
    reuseExistingServer: !process.env.CI,
    stdout: 'pipe',
    stderr: 'pipe'
  }
};
