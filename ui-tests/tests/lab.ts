import { expect, IJupyterLabPageFixture } from '@jupyterlab/galata';

/**
 * Open JupyterLab and wait until it has started and restored its layout.
 *
 * Galata's own start-up wait (autoGoto) is a fixed 15 s, which the loaded
 * shared CI machine exceeds: specs that use this set `autoGoto: false`.
 */
export async function openLab(page: IJupyterLabPageFixture): Promise<void> {
  await page.page.goto('lab', { waitUntil: 'domcontentloaded' });
  await page.waitForFunction(
    () => typeof (window as any).jupyterapp?.commands === 'object',
    undefined,
    { timeout: 120000 }
  );
  await page.evaluate(async () => {
    await (window as any).jupyterapp.started;
    await (window as any).jupyterapp.restored;
  });
  await expect(page.locator('#jupyterlab-splash')).toHaveCount(0, {
    timeout: 60000
  });
}

/**
 * Switch to JupyterLab's dark or light theme and wait until it applies.
 */
export async function setTheme(
  page: IJupyterLabPageFixture,
  dark: boolean
): Promise<void> {
  await page.evaluate(
    async theme => {
      await (window as any).jupyterapp.commands.execute(
        'apputils:change-theme',
        { theme }
      );
    },
    dark ? 'JupyterLab Dark' : 'JupyterLab Light'
  );
  await expect(page.locator('body')).toHaveAttribute(
    'data-jp-theme-light',
    dark ? 'false' : 'true'
  );
}
