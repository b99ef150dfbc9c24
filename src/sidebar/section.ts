import type { TranslationBundle } from '@jupyterlab/translation';
import { PanelWithToolbar } from '@jupyterlab/ui-components';
import type { CommandRegistry } from '@lumino/commands';
import type { Widget } from '@lumino/widgets';

import type { VaultModel } from '../models/VaultModel';

/**
 * The sections of the sidebar, in order.
 */
export type SectionId =
  | 'repositories'
  | 'verdicts'
  | 'violations'
  | 'set-me-up'
  | 'bundles'
  | 'activity';

/**
 * What every section is built from.
 */
export interface ISectionOptions {
  /**
   * The model the section shows.
   */
  model: VaultModel;
  /**
   * The command registry: the section's views execute the action commands
   * (`CommandIDs`), which report their own failures.
   */
  commands: CommandRegistry;
  /**
   * The translation bundle.
   */
  trans: TranslationBundle;
}

/**
 * A section of the sidebar's accordion, with the id `modelvault-<id>`.
 */
export function createSection(
  id: SectionId,
  label: string,
  body: Widget
): PanelWithToolbar {
  const section = new PanelWithToolbar();
  section.id = `modelvault-${id}`;
  section.title.label = label;
  section.addClass('jp-ModelVault-Section');
  body.addClass('jp-ModelVault-SectionBody');
  section.addWidget(body);
  return section;
}
