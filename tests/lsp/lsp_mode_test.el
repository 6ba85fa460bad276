;;; lsp_mode_test.el --- Emacs lsp-mode against glm-server --lsp and glm-mock-provider  -*- lexical-binding: t -*-
;; Run by tests/lsp/run_eglot.sh with GLM_TEST_CLIENT=lsp-mode:  emacs --batch -Q -l tests/lsp/lsp_mode_test.el
;; Environment: GLM_TEST_SERVER, GLM_TEST_MOCK, GLM_TEST_TMP, GLM_TEST_ELISP (a file listing one
;; directory per line: lsp-mode and the packages it needs, scripts/editors.sh's <cache>/elisp/load-path).
;; Registers glm-server as an lsp-mode client, connects and completes at point (`completion-at-point'
;; through lsp-mode's `lsp-completion-at-point').  Exits non-zero on the first failure.
(require 'cl-lib)
(defvar glm-test-server (getenv "GLM_TEST_SERVER"))
(defvar glm-test-mock (getenv "GLM_TEST_MOCK"))
(defvar glm-test-tmp (getenv "GLM_TEST_TMP"))
(defvar glm-test-before nil "The buffer's text before completing.")

;; The packages' sources as Debian ships them (elpa-src) and their autoloads (scripts/editors.sh generates
;; them, as Debian and package.el do at install time).
(with-temp-buffer
  (insert-file-contents (getenv "GLM_TEST_ELISP"))
  (dolist (dir (split-string (buffer-string) "\n" t))
    (add-to-list 'load-path dir)
    (load (expand-file-name "glm-autoloads.el" dir) nil t)))

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
(setenv "OPENAI_API_KEY" "sk-test-not-a-secret")

;; lsp-mode quietly: its session file in the scratch dir, no watchers, no prompts, no downloads.
(setq lsp-session-file (expand-file-name "lsp-session" glm-test-tmp)
      lsp-enable-file-watchers nil
      lsp-enable-suggest-server-download nil
      lsp-headerline-breadcrumb-enable nil
      lsp-modeline-code-actions-enable nil
      lsp-modeline-diagnostics-enable nil
      lsp-enable-snippet nil
      lsp-restart 'ignore
      lsp-completion-provider :none)
(require 'lsp-mode)
(princ (format "== GNU Emacs %s, lsp-mode %s\n" emacs-version (lsp-version)))

;; ---- glm-server as an lsp-mode client ------------------------------------------------------------
(lsp-register-client
 (make-lsp-client
  :new-connection (lsp-stdio-connection (list glm-test-server "--lsp"))
  :major-modes '(python-mode python-ts-mode)
  :server-id 'glm
  :priority 10
  :initialization-options
  (lambda ()
    `(:config (:default_model "openai/glm-4"
               :providers (:openai (:base_url ,(format "http://127.0.0.1:%d/v1" glm-test-port))
                           :zhipu (:base_url ,(format "http://127.0.0.1:%d/api/paas/v4" glm-test-port)
                                   :api_key "zk-test.secret")))))))
(setq lsp-enabled-clients '(glm))
;; ---------------------------------------------------------------------------------------------------

(let ((file (expand-file-name "demo.py" glm-test-tmp)))
  (with-temp-file file
    (insert "# 注释 😀 mock-reply:d(1, 2)\ndef add(a, b):\n    return a + b\n\ntotal = ad"))
  (lsp-workspace-folders-add glm-test-tmp)
  (find-file file)
  (python-mode)
  (lsp)
  (glm-test-wait (lambda ()
                   (let ((ws (car (lsp-workspaces))))
                     (and ws (eq (lsp--workspace-status ws) 'initialized))))
                 "lsp-mode to connect")
  (glm-test-ok (format "connected: %s" (lsp--workspace-print (car (lsp-workspaces)))))
  (unless (memq #'lsp-completion-at-point completion-at-point-functions)
    (glm-test-fail "lsp-completion-at-point is not in completion-at-point-functions: %S"
                   completion-at-point-functions))

  ;; Complete at point at the end of "total = ad".
  (goto-char (point-max))
  (setq glm-test-before (buffer-string))
  (progn
    (completion-at-point)
    ;; lsp-mode's completion style lists the candidates rather than inserting a sole one: choose it
    ;; from the *Completions* list, as a user does (M-<down> RET).
    (let ((list (get-buffer "*Completions*")))
      (when (and (equal glm-test-before (buffer-string)) list)
        (with-selected-window (or (get-buffer-window list) (display-buffer list))
          (goto-char (point-min))
          (first-completion)
          (glm-test-ok (format "*Completions* offers %S"
                               (buffer-substring-no-properties (point) (next-single-property-change
                                                                        (point) 'mouse-face nil (point-max)))))
          (choose-completion nil t)))))
    (glm-test-wait (lambda () (not (equal glm-test-before (buffer-string)))) "the completion")
    (let ((line (buffer-substring (line-beginning-position) (line-end-position))))
      (unless (equal line "total = add(1, 2)")
        (glm-test-fail "completion not inserted: %S" line))
      (glm-test-ok (format "completed at point: %S" line))))
  (goto-char (point-min))
  (unless (looking-at "# 注释 😀 mock-reply:d(1, 2)\ndef add(a, b):\n    return a \\+ b\n")
    (glm-test-fail "the rest of the buffer changed: %S" (buffer-string)))
  (glm-test-ok "the rest of the buffer is untouched")
  (lsp-workspace-shutdown (car (lsp-workspaces)))
  (princ "all passed\n")
  (kill-emacs 0))
