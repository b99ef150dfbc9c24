import type { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import type { ModelVault } from '../tokens';

/**
 * Properties of the `ServerStatusBanner` component.
 */
export interface IServerStatusBannerProps {
  /**
   * The handshake result to describe.
   */
  status: ModelVault.ServerStatus;
  /**
   * The translation bundle.
   */
  trans: TranslationBundle;
}

/**
 * A warning or error shown at the top of the sidebar when the server handshake
 * did not succeed cleanly; renders nothing when all is well.
 */
export function ServerStatusBanner(
  props: IServerStatusBannerProps
): JSX.Element | null {
  const message = serverStatusMessage(props.status, props.trans);
  if (!message) {
    return null;
  }
  const severity = props.status.state === 'error' ? 'error' : 'warning';
  return (
    <div
      className={`jp-ModelVault-Alert jp-ModelVault-Alert-${severity}`}
      role="alert"
    >
      {message}
    </div>
  );
}

/**
 * The user-facing message for a server status, `null` when there is nothing to report.
 */
export function serverStatusMessage(
  status: ModelVault.ServerStatus,
  trans: TranslationBundle
): string | null {
  switch (status.state) {
    case 'not-installed':
      return trans.__(
        'ModelVault server extension is not installed or enabled. Install it with "pip install modelvault_jlab", check "jupyter server extension list", then restart JupyterLab.'
      );
    case 'version-mismatch':
      return trans.__(
        'ModelVault versions differ: the JupyterLab extension is %1 but the server extension is %2. Install the same version of modelvault_jlab for both, then restart JupyterLab.',
        status.frontendVersion,
        status.info.version
      );
    case 'error':
      return trans.__('ModelVault server error: %1', status.message);
    default:
      return null;
  }
}
