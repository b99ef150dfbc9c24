import { LabIcon } from '@jupyterlab/ui-components';

import vaultSvgstr from '../style/icons/vault.svg';

/**
 * The ModelVault icon (a safe), themed through the `jp-icon3` class.
 */
export const vaultIcon = new LabIcon({
  name: 'modelvault-jlab:vault',
  svgstr: vaultSvgstr
});
