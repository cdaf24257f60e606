import { useEffect, useState } from "react";
import { useMergeTask, useTaskList } from "../../api/queries";
import type { Task } from "../../api/types";
import { CategoryChip, PriorityIcon, StatusIcon } from "../../components/Badges";
import { FormDialog } from "../../components/FormDialog";
import { Icon } from "../../components/Icon";
import { QueryView } from "../../components/QueryView";
import { Spinner } from "../../components/States";
import { useToast } from "../../components/Toasts";
import { useI18n } from "../../i18n/I18nProvider";
import "./MergeDialog.css";

interface MergeDialogProps {
  source: Task | null;
  open: boolean;
  onClose: () => void;
  onMerged?: (target: Task) => void;
}

/** Picks the task that `source` is merged into: search by text, or type its number. */
export function MergeDialog(props: MergeDialogProps) {
  // Every opening starts afresh (no search, no choice, no error from the last attempt): a new key
  // on opening mounts a new form. The closed one stays mounted until then, so closing still lets
  // the native dialog give focus back.
  const [openings, setOpenings] = useState(0);
  const [wasOpen, setWasOpen] = useState(props.open);
  if (props.open !== wasOpen) {
    setWasOpen(props.open);
    if (props.open) setOpenings((count) => count + 1);
  }
  return <MergeForm key={openings} {...props} />;
}

function MergeForm({ source, open, onClose, onMerged }: MergeDialogProps) {
  const { t } = useI18n();
  const toast = useToast();
  const merge = useMergeTask();
  const [text, setText] = useState("");
  const [debounced, setDebounced] = useState("");
  const [chosen, setChosen] = useState<number | null>(null);

  useEffect(() => {
    const timer = setTimeout(() => setDebounced(text.trim()), 200);
    return () => clearTimeout(timer);
  }, [text]);

  const byNumber = /^#?\d+$/.test(debounced) ? Number(debounced.replace("#", "")) : null;
  const candidates = useTaskList(
    { q: byNumber === null && debounced ? debounced : undefined, status: ["open", "in_progress"], sort: "-updated_at", limit: 20 },
    { enabled: open },
  );
  const rows = (candidates.data?.pages.flatMap((page) => page.data) ?? []).filter(
    (task) => task.id !== source?.id && (byNumber === null || task.id === byNumber),
  );
  const target = chosen ?? (byNumber !== null && byNumber !== source?.id ? byNumber : null);

  const submit = () => {
    if (!source || target === null) return;
    merge.mutate(
      { id: source.id, into: target },
      {
        onSuccess: (merged) => {
          toast.push({ kind: "success", text: t("merge.done", { from: source.id, into: merged.id }) });
          onMerged?.(merged);
          onClose();
        },
      },
    );
  };

  return (
    <FormDialog
      open={open}
      onClose={onClose}
      title={source ? t("merge.title", { id: source.id }) : t("action.merge")}
      onSubmit={submit}
      submitLabel={
        <>
          <Icon name="merge" /> {target !== null ? t("merge.into", { id: target }) : t("action.merge")}
        </>
      }
      canSubmit={target !== null}
      pending={merge.isPending}
      error={merge.error}
    >
      <p className="muted">{t("merge.help")}</p>
      <label className="search-field search-field--block">
        <Icon name="search" />
        <span className="visually-hidden">{t("merge.search")}</span>
        <input
          autoFocus
          type="search"
          placeholder={t("merge.search")}
          value={text}
          onChange={(event) => {
            setText(event.target.value);
            setChosen(null);
          }}
          onKeyDown={(event) => {
            if (event.key === "Enter") {
              event.preventDefault();
              if (target !== null) submit();
              else if (rows[0]) setChosen(rows[0].id);
            }
          }}
        />
      </label>
      <div className="merge-list" role="radiogroup" aria-label={t("merge.candidates")}>
        <QueryView
          query={candidates}
          loading={<Spinner />}
          isEmpty={() => rows.length === 0}
          empty={<p className="muted">{t("merge.none")}</p>}
        >
          {() =>
            rows.map((task) => (
              <label key={task.id} className={`merge-option${target === task.id ? " merge-option--chosen" : ""}`}>
                <input type="radio" name="merge-target" checked={target === task.id} onChange={() => setChosen(task.id)} />
                <StatusIcon status={task.status} />
                <span className="card__id">#{task.id}</span>
                <span className="merge-option__title">{task.title}</span>
                <PriorityIcon priority={task.priority} />
                <CategoryChip category={task.category} size="sm" />
              </label>
            ))
          }
        </QueryView>
      </div>
    </FormDialog>
  );
}
