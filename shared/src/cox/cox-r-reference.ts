/**
 * Reference fits for the tests, computed once with R 4.2.2 and survival 3.5.3
 * (Debian r-cran-survival) on survival::lung, exported as
 * test/fixtures/lung.csv. CI does not need R. The R code:
 *
 *   d <- lung[complete.cases(lung[, c("inst","time","status","age","sex","ph.ecog")]), ]  # n = 226
 *   d$site <- cut(d$inst, c(0, 1, 7, 13, Inf), labels = c("H1","H2","H3","H4"))
 *   coxph(Surv(time, status) ~ age + sex + ph.ecog, data = d, ties = ties)                 # pooled
 *   coxph(Surv(time, status) ~ age + sex + ph.ecog + strata(site), data = d, ties = ties)  # stratified
 *
 * for ties = "efron" and "breslow", default coxph.control (eps 1e-9, iter.max 20);
 * se = sqrt(diag(vcov(fit))), loglik = fit$loglik (at β = 0, at the fit), iterations = fit$iter.
 * The pseudo-hospitals group institutions: H1 = inst 1; H2 = 2–7; H3 = 10–13; H4 = 15–33
 * (36, 59, 65 and 66 complete rows; 27, 47, 45 and 44 deaths).
 */

export interface RReferenceFit {
  coefficients: readonly number[];
  standardErrors: readonly number[];
  logLikInitial: number;
  logLik: number;
  iterations: number;
}

/** Pseudo-hospital of an NCCTG institution, as `cut(inst, c(0, 1, 7, 13, Inf))` above. */
export function lungSite(inst: number): 'H1' | 'H2' | 'H3' | 'H4' {
  if (inst <= 1) return 'H1';
  if (inst <= 7) return 'H2';
  if (inst <= 13) return 'H3';
  return 'H4';
}

export const R_LUNG = {
  covariates: ['age', 'sex', 'ph.ecog'],
  n: 226,
  events: 163,
  pooled: {
    efron: {
      coefficients: [0.011232164214821, -0.556593413976612, 0.469216397079841],
      standardErrors: [0.00926210540521359, 0.168071030875402, 0.114290402159999],
      logLikInitial: -739.374983685165,
      logLik: -724.119253118481,
      iterations: 3,
    },
    breslow: {
      coefficients: [0.0112049244162723, -0.555825451347549, 0.468378658304874],
      standardErrors: [0.00926152005440592, 0.168074257696772, 0.114286018122822],
      logLikInitial: -739.588257902221,
      logLik: -724.380860757253,
      iterations: 3,
    },
  },
  stratified: {
    efron: {
      coefficients: [0.0110955564361942, -0.537586875563502, 0.557210653858587],
      standardErrors: [0.00943812818443194, 0.169751532897797, 0.122353425467253],
      logLikInitial: -521.634495238541,
      logLik: -504.8102566306,
      iterations: 4,
    },
    breslow: {
      coefficients: [0.011067122575245, -0.537284979839729, 0.55693666350386],
      standardErrors: [0.00943743032722578, 0.169751167430875, 0.122333475059093],
      logLikInitial: -521.690487619834,
      logLik: -504.882040979482,
      iterations: 4,
    },
  },
} as const satisfies {
  pooled: Record<'efron' | 'breslow', RReferenceFit>;
  stratified: Record<'efron' | 'breslow', RReferenceFit>;
} & Record<string, unknown>;
