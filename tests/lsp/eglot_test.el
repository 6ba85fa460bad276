;;; eglot_test.el --- Emacs + eglot against glm-server --lsp and glm-mock-provider  -*- lexical-binding: t -*-
;; Run by tests/lsp/run_eglot.sh:  emacs --batch -Q -l tests/lsp/eglot_test.el
;; Environment: GLM_TEST_SERVER, GLM_TEST_MOCK, GLM_TEST_TMP.  Connects, completes at point, and runs
;; the "GLM: Rewrite…" code action, which edits the buffer, with a user who takes 20 s to choose the
;; instruction (eglot waits for executeCommand with a 10 s timeout: the server must not make that
;; request wait on the user).  Exits non-zero on the first failure.
;; User choices (the code action menu, the rewrite instruction eglot asks for through
;; window/showMessageRequest) come from a scripted `completing-read'; everything else is eglot's own code.
(require 'cl-lib)
;; Emacs 28: Debian's elpa-* packages (eglot and the newer jsonrpc/project/xref it needs) are not on the
;; load path under -Q. Emacs 29+ (the matrix runs Emacs 30, scripts/editors.sh) has eglot built in.
(when (< emacs-major-version 29)
  (dolist (dir (file-expand-wildcards "/usr/share/emacs/site-lisp/elpa/*"))
    (add-to-list 'load-path dir)))
(require 'eglot)
(princ (format "== GNU Emacs %s, eglot %s\n" emacs-version
               (let ((v (alist-get 'eglot (bound-and-true-p package--builtin-versions))))
                 (if v (mapconcat #'number-to-string v ".")
                   (or (ignore-errors
                         (with-temp-buffer
                           (insert-file-contents (locate-library "eglot.el" t))
                           (and (re-search-forward "^;; Version: \\(.*\\)" nil t) (match-string 1))))
                       "?")))))

(defvar glm-test-server (getenv "GLM_TEST_SERVER"))
(defvar glm-test-mock (getenv "GLM_TEST_MOCK"))
(defvar glm-test-tmp (getenv "GLM_TEST_TMP"))

(defun glm-test-fail (fmt &rest args)
  (princ (format "FAIL: %s\n" (apply #'format fmt args)))
  (kill-emacs 1))

(defun glm-test-ok (what)
  (princ (format "ok: %s\n" what)))

(defun glm-test-wait (pred what &optional seconds)
  (let ((deadline (+ (float-time) (or seconds 10))))
    (while (and (not (funcall pred)) (< (float-time) deadline))
      (accept-process-output nil 0.05))
    (unless (funcall pred) (glm-test-fail "timed out waiting for %s" what))))

;; The mock provider.
(defvar glm-test-port nil)
(make-process :name "glm-mock" :command (list glm-test-mock "--lifetime-s" "300")
              :connection-type 'pipe :noquery t
              :filter (lambda (_p s)
                        (when (string-match "PORT \\([0-9]+\\)" s)
                          (setq glm-test-port (string-to-number (match-string 1 s))))))
(glm-test-wait (lambda () glm-test-port) "the mock provider")

;; ---- the docs/lsp.md snippet (eglot) -------------------------------------------------------------
(add-to-list 'eglot-server-programs
             `(python-mode . (,glm-test-server "--lsp"
                              :initializationOptions
                              (:config (:default_model "openai/glm-4"
                                        :providers (:openai (:base_url ,(format "http://127.0.0.1:%d/v1" glm-test-port))
                                                    :zhipu (:base_url ,(format "http://127.0.0.1:%d/api/paas/v4" glm-test-port)
                                                            :api_key "zk-test.secret")))))))
;; GLM's rewrites arrive as workspace/applyEdit: apply them without a y-or-n question.
(setq eglot-confirm-server-initiated-edits nil)
;; ---------------------------------------------------------------------------------------------------
(setenv "OPENAI_API_KEY" "sk-test-not-a-secret")

(defvar glm-test-choices nil "Answers for `completing-read', in order: substrings of the choices.")
(defvar glm-test-think-seconds 0
  "How long the user looks at a prompt from the server (window/showMessageRequest) before choosing.")
(defvar glm-test-in-code-actions nil "Non-nil while `eglot-code-actions' has not returned.")
(defvar glm-test-on-prompt nil "Called in the server's prompt each 0.1 s while the user thinks.")
(defun glm-test-completing-read (prompt collection &rest _)
  (let ((answer (pop glm-test-choices)))
    (unless answer (glm-test-fail "unexpected question: %s" prompt))
    (when (and (string-match-p "Server reports" prompt) (> glm-test-think-seconds 0))
      ;; The user thinks.  Emacs keeps running timers and reading process output meanwhile, as it
      ;; does with the minibuffer open.
      (let ((deadline (+ (float-time) glm-test-think-seconds)))
        (while (< (float-time) deadline)
          (accept-process-output nil 0.1)
          (when glm-test-on-prompt (funcall glm-test-on-prompt))))
      (glm-test-ok (format "thought for %d s at the prompt" glm-test-think-seconds)))
    (let* ((cands (all-completions "" collection))
           (hit (cl-find-if (lambda (c) (string-match-p (regexp-quote answer) c)) cands)))
      (unless hit (glm-test-fail "no choice matching %S in %S" answer cands))
      (glm-test-ok (format "asked %S, chose %S" (car (split-string prompt "\n" t)) hit))
      hit)))
(advice-add 'completing-read :override #'glm-test-completing-read)

(let* ((file (expand-file-name "demo.py" glm-test-tmp))
       (reply (expand-file-name "reply.txt" glm-test-tmp)))
  ;; The model's answer to the rewrite (the mock replays it): prose around a fenced block.
  (with-temp-file reply
    (insert "Simplified:\n\n```python\n    return sum((a, b))\n```\n"))
  (with-temp-file file
    (insert (format "# 注释 😀 mock-reply:d(1, 2)\ndef add(a, b):\n    return a + b  # mock:reply_file=%s\n\ntotal = ad" reply)))
  (find-file file)
  (python-mode)
  ;; What M-x eglot does (eglot-ensure waits for a command loop that batch mode does not run).
  (apply #'eglot (eglot--guess-contact))
  (glm-test-wait (lambda () (eglot-current-server)) "eglot to connect")
  (glm-test-wait (lambda () (let ((s (eglot-current-server)))
                              (and s (eglot--server-capable :codeActionProvider))))
                 "initialize")
  (glm-test-ok "connected")

  ;; 1. Complete at point at the end of "total = ad".
  (goto-char (point-max))
  (let ((before (buffer-string)))
    (completion-at-point)
    (glm-test-wait (lambda () (not (equal before (buffer-string)))) "the completion")
    (let ((line (buffer-substring (line-beginning-position) (line-end-position))))
      (unless (equal line "total = add(1, 2)")
        (glm-test-fail "completion not inserted: %S" line))
      (glm-test-ok (format "completed at point: %S" line))))

  ;; 2. The Rewrite code action on line 3 edits the buffer, after the user has taken 20 s (twice
  ;; eglot's request timeout) to choose the instruction.  executeCommand must have been answered
  ;; before the prompt, and the buffer must not change until the choice is made.
  (goto-char (point-min))
  (forward-line 2)
  (let* ((beg (line-beginning-position)) (end (line-end-position))
         (buf (current-buffer))
         (text (buffer-string))
         (tick (buffer-chars-modified-tick))
         (prompted-inside nil))
    (setq glm-test-choices (list "GLM: Rewrite" "Simplify it")
          glm-test-think-seconds 20
          glm-test-on-prompt
          (lambda ()
            (when glm-test-in-code-actions (setq prompted-inside t))
            (unless (and (equal text (with-current-buffer buf (buffer-string)))
                         (= tick (with-current-buffer buf (buffer-chars-modified-tick))))
              (glm-test-fail "the buffer changed before the user chose: %S"
                             (with-current-buffer buf (buffer-string))))))
    ;; As from the keyboard (a mouse event would pop up a menu instead of the minibuffer).
    (setq glm-test-in-code-actions t)
    (condition-case err
        (let ((last-nonmenu-event ?\r))
          (eglot-code-actions beg end nil t))
      (error (glm-test-fail "the code action failed: %S" err)))
    (setq glm-test-in-code-actions nil)
    (glm-test-ok "executeCommand answered without waiting for the user")
    (glm-test-wait (lambda () (null glm-test-choices)) "the server's prompt")
    (when prompted-inside
      (glm-test-fail "the server asked while eglot was still waiting for executeCommand"))
    (glm-test-wait (lambda () (/= tick (buffer-chars-modified-tick))) "the rewrite edit"))
  (goto-char (point-min))
  (forward-line 2)
  (let ((line (buffer-substring (line-beginning-position) (line-end-position))))
    (unless (equal "    return sum((a, b))" line)
      (glm-test-fail "rewrite not applied: %S" line))
    (glm-test-ok (format "rewrite applied: %S" line)))
  (goto-char (point-min))
  (unless (looking-at "# 注释 😀 mock-reply:d(1, 2)\ndef add(a, b):\n")
    (glm-test-fail "the rest of the buffer changed: %S" (buffer-string)))
  (glm-test-ok "the rest of the buffer is untouched")
  (eglot-shutdown (eglot-current-server))
  (princ "all passed\n")
  (kill-emacs 0))
