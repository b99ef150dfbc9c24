import type { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import type { AdminClient } from '../../api/admin';
import { describeError } from '../../api/request';

/**
 * Props shared by the admin views.
 */
export interface IAdminViewProps {
  client: AdminClient;
  trans: TranslationBundle;
}

/**
 * Load something once on mount and on `reload()`; errors become a message.
 */
export function useLoaded<T>(
  load: () => Promise<T>,
  initial: T
): {
  value: T;
  error: string | null;
  loading: boolean;
  reload: () => Promise<void>;
} {
  const [value, setValue] = React.useState<T>(initial);
  const [error, setError] = React.useState<string | null>(null);
  const [loading, setLoading] = React.useState(true);
  const reload = React.useCallback(async () => {
    setLoading(true);
    try {
      setValue(await load());
      setError(null);
    } catch (reason) {
      setError(describeError(reason));
    }
    setLoading(false);
  }, [load]);
  React.useEffect(() => {
    void reload();
  }, [reload]);
  return { value, error, loading, reload };
}
