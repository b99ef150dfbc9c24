import type { components } from '../../api/schema';
import { formatSize } from '../../snippets';
import type { ModelVault } from '../../tokens';

/**
 * `GET repositories/{key}/hub/{type}s/{ns}/{name}/overview`.
 */
export type IHubOverview = components['schemas']['HubOverview'];

/**
 * `GET lineage?subject=`.
 */
export type ILineage = components['schemas']['Lineage'];

/**
 * A row of the files table: the wire file plus what the cells show.
 */
export interface IFileRow {
  file: ModelVault.IRepoFile;
  /**
   * Human-readable size.
   */
  size: string;
  /**
   * Verdict as shown (`not scanned` when the vault has no scan).
   */
  verdict: string;
  /**
   * Blocking and warning violations, then waived ones, one line each.
   */
  violations: string;
  /**
   * Whether an administrator may waive a violation of this file.
   */
  waivable: boolean;
}

/**
 * Shape the files of a Hub repo for the files table (path order is kept).
 */
export function fileRows(
  files: ReadonlyArray<ModelVault.IRepoFile>
): IFileRow[] {
  return files.map(file => ({
    file,
    size: formatSize(file.size),
    verdict: file.verdict ?? 'not scanned',
    violations: [
      ...file.violations.map(v => `${v.action} by ${v.policy}: ${v.reason}`),
      ...file.waived.map(v => `waived ${v.policy}: ${v.reason}`)
    ].join('; '),
    waivable: file.violations.some(v => v.action === 'block')
  }));
}

/**
 * Evidence of a violation as `key: value` lines (nested values as JSON).
 */
export function evidenceLines(evidence: { [key: string]: unknown }): string[] {
  return Object.entries(evidence ?? {}).map(
    ([key, value]) =>
      `${key}: ${typeof value === 'string' ? value : JSON.stringify(value)}`
  );
}

/**
 * Kinds of nodes of the lineage graph.
 */
export type LineageNodeKind =
  'model' | 'base' | 'missing-base' | 'bundle' | 'notebook' | 'user';

/**
 * A node of the lineage graph.
 */
export interface ILineageNode {
  id: string;
  kind: LineageNodeKind;
  label: string;
}

/**
 * A directed edge of the lineage graph, with what it means.
 */
export interface ILineageEdge {
  from: string;
  to: string;
  label: string;
}

/**
 * The lineage of a repo: its base-model chain, the bundles that pin it, and
 * who fetched it (notebooks with their kernels, and users).
 */
export interface ILineageGraph {
  nodes: ILineageNode[];
  edges: ILineageEdge[];
}

/**
 * Build the lineage graph of a repo from its overview and its fetches.
 *
 * Edges point the way the dependency goes: a model is fine-tuned *from* its
 * base, a bundle *pins* the model, a notebook *fetched* it, a user *ran* the
 * notebook. Downloads without a notebook are attached to their user.
 */
export function lineageGraph(
  overview: Pick<IHubOverview, 'repo_id' | 'base_chain' | 'bundles'>,
  lineage: Pick<ILineage, 'affected'> | null
): ILineageGraph {
  const nodes: ILineageNode[] = [];
  const edges: ILineageEdge[] = [];
  const ids = new Map<string, string>();
  const node = (key: string, kind: LineageNodeKind, label: string) => {
    let id = ids.get(key);
    if (!id) {
      id = `n${ids.size}`;
      ids.set(key, id);
      nodes.push({ id, kind, label });
    }
    return id;
  };
  const root = node(`repo:${overview.repo_id}`, 'model', overview.repo_id);
  let child = root;
  for (const link of overview.base_chain) {
    const base = node(
      `repo:${link.repo_id}`,
      link.in_vault ? 'base' : 'missing-base',
      link.in_vault ? link.repo_id : `${link.repo_id} (not in the vault)`
    );
    edges.push({ from: child, to: base, label: 'fine-tuned from' });
    child = base;
  }
  for (const bundle of overview.bundles) {
    const env = bundle.environment ? ` [${bundle.environment}]` : '';
    const id = node(
      `bundle:${bundle.name}@${bundle.version}`,
      'bundle',
      `bundle ${bundle.name} ${bundle.version}${env}`
    );
    edges.push({
      from: id,
      to: root,
      label: `pins ${bundle.commit.slice(0, 8)}`
    });
  }
  for (const entry of lineage?.affected ?? []) {
    const user = node(`user:${entry.user}`, 'user', `user ${entry.user}`);
    if (!entry.notebook && !entry.kernel_id) {
      edges.push({ from: user, to: root, label: `fetched ${entry.fetches}×` });
      continue;
    }
    const kernel = entry.kernel_id
      ? ` (kernel ${entry.kernel_id.slice(0, 8)})`
      : '';
    const notebook = node(
      `notebook:${entry.notebook}:${entry.kernel_id}`,
      'notebook',
      `${entry.notebook ?? 'console'}${kernel}`
    );
    edges.push({
      from: notebook,
      to: root,
      label: `fetched ${entry.fetches}×`
    });
    if (!edges.some(e => e.from === user && e.to === notebook)) {
      edges.push({ from: user, to: notebook, label: 'ran' });
    }
  }
  return { nodes, edges };
}

/**
 * Mermaid flowchart of a lineage graph. Labels are untrusted (repo ids, notebook
 * paths): every character Mermaid treats as syntax is written as an entity.
 * The theme is part of the text: a page drawn before a theme change is drawn
 * again in the new one (JupyterLab does not redraw rendered diagrams).
 */
export function mermaidDefinition(graph: ILineageGraph, dark = false): string {
  const shapes: Record<LineageNodeKind, [string, string]> = {
    model: ['[["', '"]]'],
    base: ['["', '"]'],
    'missing-base': ['["', '"]'],
    bundle: ['[/"', '"/]'],
    notebook: ['("', '")'],
    user: ['(["', '"])']
  };
  const theme = dark ? 'dark' : 'default';
  const lines = [`%%{init: {"theme": "${theme}"}}%%`, 'flowchart LR'];
  for (const n of graph.nodes) {
    const [open, close] = shapes[n.kind];
    lines.push(`  ${n.id}${open}${mermaidText(n.label)}${close}`);
  }
  for (const e of graph.edges) {
    lines.push(`  ${e.from} -->|"${mermaidText(e.label)}"| ${e.to}`);
  }
  for (const kind of Object.keys(shapes) as LineageNodeKind[]) {
    const members = graph.nodes.filter(n => n.kind === kind).map(n => n.id);
    if (members.length) {
      lines.push(`  class ${members.join(',')} mv-${kind}`);
    }
  }
  return lines.join('\n');
}

/**
 * Text of a Mermaid label: quotes, brackets, pipes, `#`, `;`, `<`, `>`, `&` and
 * backticks become `#code;` entities, line breaks become spaces.
 */
export function mermaidText(text: string): string {
  return text
    .replace(/[\r\n]+/g, ' ')
    .replace(/[#"<>&|;`[\](){}]/g, c => `#${c.charCodeAt(0)};`);
}

/**
 * The graph as sentences, the accessible alternative of the picture.
 */
export function graphSentences(graph: ILineageGraph): string[] {
  const label = new Map(graph.nodes.map(n => [n.id, n.label]));
  return graph.edges.map(
    e => `${label.get(e.from)} ${e.label} ${label.get(e.to)}`
  );
}

/**
 * The README without its YAML front matter (shown as a table of fields instead).
 */
export function cardBody(readme: string | null): string {
  if (!readme) {
    return '';
  }
  if (!readme.startsWith('---')) {
    return readme;
  }
  const end = readme.indexOf('\n---', 3);
  if (end < 0) {
    return readme;
  }
  const rest = readme.indexOf('\n', end + 4);
  return rest < 0 ? '' : readme.slice(rest + 1);
}

/**
 * Python code that downloads one file of a repo through the vault, pinned to
 * a commit (the token comes from `HF_TOKEN`).
 */
export function downloadSnippet(
  endpoint: string,
  repoType: string,
  repoId: string,
  commit: string,
  path: string
): string {
  const type =
    repoType === 'model' ? '' : `, repo_type=${JSON.stringify(repoType)}`;
  return [
    'from huggingface_hub import hf_hub_download',
    '',
    `path = hf_hub_download(${JSON.stringify(repoId)}, ${JSON.stringify(path)}${type},`,
    `                       revision=${JSON.stringify(commit)},`,
    `                       endpoint=${JSON.stringify(endpoint)})`
  ].join('\n');
}

/**
 * The revisions the picker offers, grouped: branches, tags, then commits.
 */
export function revisionGroups(
  overview: Pick<IHubOverview, 'refs' | 'commits'>
): { label: string; options: { value: string; text: string }[] }[] {
  const refs = (kind: string) =>
    overview.refs
      .filter(r => r.kind === kind)
      .map(r => ({ value: r.name, text: r.name }));
  return [
    { label: 'Branches', options: refs('branch') },
    { label: 'Tags', options: refs('tag') },
    {
      label: 'Commits',
      options: overview.commits.map(c => ({
        value: c.sha,
        text: `${c.sha.slice(0, 8)} ${c.title}`.slice(0, 80)
      }))
    }
  ].filter(group => group.options.length > 0);
}
