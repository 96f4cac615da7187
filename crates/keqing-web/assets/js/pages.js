// Every page of the workbench, by name.
export { day } from './day.js';
export { customers } from './customers.js';
export { customer } from './customer.js';
export { importer } from './import.js';
export { admin } from './admin.js';
export { compliance } from './compliance.js';
export { analysis } from './analysis.js';
export { account } from './account.js';
export { pay } from './pay.js';
export { teamPay } from './team-pay.js';
export { performance } from './performance.js';
export { dashboard } from './dashboard.js';
