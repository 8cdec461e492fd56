import { UTILITY_USERS_DEFAULT } from '../core/utility';

/** The help text: `recmark --help` prints it whole, `recmark verify --help` the verb's entries. */
export const USAGE = `Usage: recmark <command> [options]

Commands:
  inspect MODEL [--json]
      Describe a recommender ONNX checkpoint: inputs, scores, catalogue, adapter.

  embed grew MODEL --out OUT --key-out KEY [--mode weights|serve] [--data FILE] [--gamma 0.5]
                   [--delta D] [--kc 50] [--protect-head 10] [--clusters C] [--target-z 6.5]
                   [--max-steps 1500] [--utility-users 5000|all] [--seed 1] [--force] [--json]
      Add a GREW (green/red) watermark; writes a new model and a key file. --mode weights (the
      default) trains the bias into the model's own weights (the graph stays the original's;
      δ, default 2, is the teacher's strength) until its evidence reaches z_w >= --target-z.
      --mode serve appends the bias as nodes after the score output (δ default 1): for a model
      you serve behind an API; anyone holding the file can remove them. The top --protect-head
      items keep their order (0 biases the whole top-Kc).

  embed aow MODEL --out OUT --key-out KEY [--data FILE] [--length 5] [--bottom-m 100]
                  [--ratio 0.1] [--start cold|pop|random] [--utility train|distil]
                  [--contextual] [--lr 3e-4] [--min-steps 200] [--max-steps 1500]
                  [--utility-users 5000|all] [--seed 1] [--force] [--json]
      Generate an out-of-distribution item sequence with MODEL as oracle and fine-tune MODEL
      until it continues every prefix of it; utility is kept by training on FILE's sequences
      (--utility train, the default with data) or by distilling the original model's scores
      (--utility distil: closest to the original; the default without data). --contextual also
      teaches the continuation after any history, so the watermark survives model extraction.

  verify MODEL --key KEY [--key KEY2 ...] [--data FILE] [--probes 1000] [--top-k 20]
               [--null-keys 200] [--seed 1] [--alpha 1e-4] [--report-html FILE [--force]] [--json]
      Check a suspect model for the watermark of KEY (GREW or AOW, read from the key file);
      prints the verdict and the evidence. With several keys: one report, strongest first.

  verify --endpoint PROFILE.recmark-endpoint.json --key KEY [--probes 1000] [--data FILE]
               [--top-k 20] [--null-keys 200] [--seed 1] [--alpha 1e-4] [--budget N]
               [--cache DIR | --no-cache] [--report-html FILE [--force]] [--json]
      The same audit through a live recommendation endpoint (black-box, within the query
      budget); also prints queries spent, failures, probes lost and latency. Secrets the
      profile names (\${secret:NAME}) come from RECMARK_SECRET_<NAME>. Answers are cached in
      DIR (default .recmark/endpoint-cache), so a re-run only pays for what is missing.

  attack finetune MODEL --data FILE --out OUT [--epochs 1] [--lr 1e-3] [--fraction 0.1]
                  [--seed 1] [--batch-size 64] [--max-steps N] [--utility-users 5000|all]
                  [--force] [--json]
      Simulate a thief fine-tuning MODEL on a fraction of the users in FILE (next-item
      cross-entropy); prints the loss curve and utility before/after, writes the tuned copy.

  attack prune MODEL --out OUT --fraction F [--data FILE] [--utility-users 5000|all] [--seed 1]
               [--force] [--json]
      Simulate magnitude pruning: zero the fraction F (0 <= F < 1) smallest-|w| weights of each
      trained weight matrix; prints the top-10 overlap with MODEL (and Recall/NDCG@10 with --data).

  attack noise MODEL --out OUT --scale S [--data FILE] [--utility-users 5000|all] [--seed 1]
               [--force] [--json]
      Simulate weight noise: add N(0, (S*std(W))^2) to every trained weight tensor W (S >= 0);
      prints the top-10 overlap with MODEL (and Recall/NDCG@10 with --data). Attacks on weights
      touch trained weights only, never masks, flags, penalty vectors or shape constants.

  attack quantize MODEL --out OUT [--data FILE] [--utility-users 5000|all] [--seed 1] [--force]
                  [--json]
      Simulate int8 weight quantization: every trained weight tensor W rounded to 255 levels
      (symmetric, scale max|W|/127) and stored back as float32, so OUT is a drop-in
      replacement; prints the largest rounding error and the top-10 overlap with MODEL (and
      Recall/NDCG@10 with --data).

  attack strip MODEL --out OUT [--data FILE] [--utility-users 5000|all] [--seed 1] [--force]
               [--json]
      Simulate a thief deleting what is not architecture: everything between the scoring layer
      (the last MatMul/Gemm of the score output's shape, with its bias) and the score output,
      e.g. a GREW watermark embedded in serve mode, which goes with it. OUT keeps MODEL's input
      and output names and shapes; prints what was removed (or that nothing was) and the
      top-10 overlap with MODEL (and Recall/NDCG@10 with --data).

  attack overwrite MODEL --out OUT --scheme grew|aow [--key OWNER_KEY] [--data FILE]
                   [--probes 1000] [--alpha 1e-4] [--utility-users 5000|all] [--seed 1] [--force]
                   [--json]
      Simulate a thief embedding a watermark of their own (GREW or AOW, RecMark's embedding
      with a fresh random key) to bury the owner's or to claim the model. The thief's key is
      not kept; its id and the thief's own evidence are printed. With --key, the owner's
      watermark is verified on OUT.

  attack extract MODEL --out SURROGATE [--sequences 3000] [--top-k 100] [--arch same|sasrec]
                 [--epochs 10] [--length L] [--loss listwise|ranking] [--max-steps N]
                 [--data FILE] [--utility-users 5000|all] [--seed 1] [--force] [--json]
      Simulate data-free model extraction: query MODEL as a black box with synthetic sequences
      (each next item drawn from its top-k), train a surrogate (MODEL's graph re-initialised, or
      a SASRec) on the ranked lists alone; prints the query budget, the surrogate's agreement
      with MODEL and, with --data, both models' Recall/NDCG@10. Then run "verify" on SURROGATE.

  robustness MODEL --key KEY [--data FILE] [--attacks extraction,finetune,prune,noise,...]
             [--probes 1000] [--seed 1] [--alpha 1e-4] [--utility-users 5000|all]
             [--report-html FILE [--force]] [--json]
      Robustness sweep of a watermarked MODEL: run extraction (3,000 sequences), fine-tuning on
      1/5/10% of users (needs --data), pruning at 20/50/80%, noise at 0.1/0.5, int8
      quantization, stripping post-processing, overwriting with a thief's own GREW and AOW
      watermark, and extraction then fine-tuning on 10% (needs --data); verify KEY after each,
      and print the audit with one row per attack. --attacks picks kinds among extraction,
      finetune, prune, noise, quantize, strip, overwrite, extract-finetune. Writes no model
      files.

  data check FILE [--id-map MAP] [--model MODEL] [--json]
      Print what RecMark reads in FILE: its format, users, items, sequence lengths and, with
      --id-map, the raw ids the map lacks; with --model, every item is checked against MODEL.

Data (--data FILE) is read by content: "user item [timestamp]" lines, a CSV with a header
(MovieLens ratings.csv: userId,movieId,rating,timestamp), or a RecBole .inter file
(user_id:token<TAB>item_id:token<TAB>timestamp:float). Item ids are the model's indices unless
--id-map MAP translates raw ids: a CSV with a header whose first column is the model's index
and second the raw id (test/fixtures/item_map.csv); ids missing from MAP are counted and left
out. Every command that takes --data also takes --id-map.

Utility (with --data) is measured on a seeded sample of at most ${UTILITY_USERS_DEFAULT.toLocaleString('en-US')} users with a held-out
item, the same ones before and after, each metric with its 95% confidence interval;
--utility-users N samples at most N users, --utility-users all measures every user.

Outputs (--out, --key-out, --report-html) are new files: an existing file is replaced only with
--force, an input never; the checks run before any work starts.

Options:
  -h, --help     Show this help.
  --version      Print the version.`;

/** `recmark verify --help`: the USAGE entries of that command (or of `embed aow`, say). */
export function commandUsage(command: string, sub: string | undefined): string | null {
  const entries = USAGE.slice(USAGE.indexOf('Commands:\n') + 10, USAGE.indexOf('\nOptions:'))
    .split('\n\n')
    .map((entry) => entry.replace(/^\n+/, ''));
  const forCommand = entries.filter((e) => e.trimStart().startsWith(`${command} `));
  const forSub = forCommand.filter((e) => sub && e.trimStart().startsWith(`${command} ${sub} `));
  const chosen = forSub.length > 0 ? forSub : forCommand;
  if (chosen.length === 0) return null;
  return `Usage: recmark ${command} [options]\n\n${chosen.join('\n\n')}`;
}
