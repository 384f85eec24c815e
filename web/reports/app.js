// The reports (desktop) for admins (every city and carrier) and the office (its cities): the
// ride and revenue report with its charts, what each operator and bank owes and what we owe
// each carrier, the preferential subsidy; CSV downloads. The same view the carrier's
// dashboard shows for one carrier.
import { t } from '../lib/i18n.js';
import { h, problemView } from '../lib/ui.js';
import { staffApi } from '../lib/staff.js';
import { startDesk } from '../lib/desk.js';
import { reportView } from '../lib/reports.js';

async function rides(main, who) {
  main.append(h('h1', {}, t('rep_title')));
  try {
    const { data } = await staffApi('/v1/cities');
    const cities = data.cities
      .filter((c) => who.role === 'admin' || who.cities.includes(c.id))
      .map((c) => ({ id: c.id, name: c.name }));
    main.append(reportView({ cities }));
  } catch (error) {
    main.append(problemView(error));
  }
}

startDesk({
  title: 'rep_title',
  roles: ['admin', 'office'],
  sections: [{ id: 'rides', label: 'rep_title', draw: rides }],
});
