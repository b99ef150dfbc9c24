import type { ModelVault } from './tokens';

/**
 * A copyable Set Me Up snippet.
 */
export interface ISnippet {
  /**
   * Stable id (used in test ids and copy notifications).
   */
  id: string;
  /**
   * The client the snippet configures (a tool name, not translated).
   */
  tool: string;
  /**
   * Shell or Python code.
   */
  language: 'shell' | 'python';
  code: string;
}

/**
 * The placeholder shown where a token goes until the user mints one.
 */
export const TOKEN_PLACEHOLDER = '<YOUR_TOKEN>';

/**
 * Client configuration snippets for a repository.
 *
 * Hub repositories: huggingface_hub and transformers (`HF_ENDPOINT`, `HF_TOKEN`).
 * PyPI repositories: pip and uv (`index_url` with `__token__:<token>@`) and twine.
 *
 * @param repository The repository (its URLs come from the server: no base URL is guessed).
 * @param token The token to embed, or `null` for a placeholder.
 */
export function snippetsFor(
  repository: ModelVault.IRepository,
  token: string | null
): ISnippet[] {
  const secret = token ?? TOKEN_PLACEHOLDER;
  const out: ISnippet[] = [];
  if (repository.hub_endpoint) {
    const endpoint = repository.hub_endpoint;
    out.push(
      {
        id: 'env',
        tool: 'shell',
        language: 'shell',
        code: `export HF_ENDPOINT=${endpoint}\nexport HF_TOKEN=${secret}`
      },
      {
        id: 'huggingface_hub',
        tool: 'huggingface_hub',
        language: 'python',
        code: [
          'from huggingface_hub import HfApi, hf_hub_download',
          '',
          `api = HfApi(endpoint="${endpoint}", token="${secret}")`,
          'path = hf_hub_download("org/model", "config.json",',
          `                       endpoint="${endpoint}", token="${secret}")`
        ].join('\n')
      },
      {
        id: 'transformers',
        tool: 'transformers',
        language: 'python',
        code: [
          'import os',
          '',
          '# Set before importing transformers: huggingface_hub reads them at import.',
          `os.environ["HF_ENDPOINT"] = "${endpoint}"`,
          `os.environ["HF_TOKEN"] = "${secret}"`,
          '',
          'from transformers import AutoModel, AutoTokenizer',
          '',
          'tokenizer = AutoTokenizer.from_pretrained("org/model")',
          'model = AutoModel.from_pretrained("org/model")'
        ].join('\n')
      }
    );
  }
  if (repository.index_url) {
    const indexUrl = withCredentials(repository.index_url, secret);
    const uploadUrl = repository.index_url.replace(/simple\/?$/, '');
    out.push(
      {
        id: 'pip',
        tool: 'pip',
        language: 'shell',
        code: `pip install --index-url ${indexUrl} <package>`
      },
      {
        id: 'uv',
        tool: 'uv',
        language: 'shell',
        code: `uv pip install --index-url ${indexUrl} <package>\n# or: export UV_INDEX_URL=${indexUrl}`
      },
      {
        id: 'twine',
        tool: 'twine',
        language: 'shell',
        code: `twine upload --repository-url ${uploadUrl} -u __token__ -p ${secret} dist/*`
      }
    );
  }
  return out;
}

/**
 * `url` with `__token__:<token>@` as its user info.
 */
export function withCredentials(url: string, token: string): string {
  const match = /^(https?:\/\/)(.*)$/.exec(url);
  if (!match) {
    return url;
  }
  return `${match[1]}__token__:${token}@${match[2]}`;
}

/**
 * A human-readable size (1024-based, like file browsers).
 */
export function formatSize(bytes: number): string {
  if (!(bytes >= 0)) {
    return '';
  }
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0
    ? `${bytes} B`
    : `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/**
 * A date and time from seconds since the epoch, in the user's locale.
 */
export function formatTime(seconds: number | null | undefined): string {
  if (typeof seconds !== 'number' || !isFinite(seconds)) {
    return '';
  }
  return new Date(seconds * 1000).toLocaleString();
}
