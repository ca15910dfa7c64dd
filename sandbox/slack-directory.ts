import { fail, missing, nowSeconds, slackId, text, type Answer, type Args } from './slack-answers';
import { SANDBOX_USERS } from './users';

/**
 * The people of the simulated workspace, as users.info and users.lookupByEmail answer them,
 * and whom conversations.invite knows. The sandbox's people (sandbox/users.ts) are there
 * from the start, with their e-mail addresses, and so is the bot; a test adds others.
 */

export interface SimulatedUser {
  id: string;
  /** The handle (`name` in Slack's user object, what a mention shows). */
  name: string;
  realName: string;
  /** Slack keeps one address per person; bots have none. */
  email?: string;
  title?: string;
  isBot: boolean;
  /** A deactivated account: users.info still answers it, lookupByEmail and invites do not. */
  deleted: boolean;
}

export interface NewUser {
  /** Made up (U + ten capitals and digits) when not given. */
  id?: string;
  name: string;
  realName?: string;
  email?: string;
  title?: string;
  isBot?: boolean;
  deleted?: boolean;
}

export class SimulatedDirectory {
  private readonly byId = new Map<string, SimulatedUser>();
  private readonly updated = nowSeconds();

  constructor(
    private readonly teamId: string,
    bot: { id: string; name: string },
    seed: readonly NewUser[] = [],
  ) {
    this.add({ id: bot.id, name: bot.name, realName: bot.name, isBot: true });
    for (const person of SANDBOX_USERS) {
      this.add({
        id: person.id,
        name: person.handle,
        realName: person.name,
        email: person.email,
        title: person.title,
      });
    }
    for (const user of seed) this.add(user);
  }

  /** Adds a person; an id or an e-mail address already taken is a mistake in the test. */
  add(user: NewUser): SimulatedUser {
    const id = user.id ?? slackId('U');
    if (this.byId.has(id)) throw new Error(`the simulated Slack already has a user ${id}`);
    if (user.email && this.findByEmail(user.email)) {
      throw new Error(`the simulated Slack already has a user with e-mail ${user.email}`);
    }
    const added: SimulatedUser = {
      id,
      name: user.name,
      realName: user.realName ?? user.name,
      ...(user.email ? { email: user.email } : {}),
      ...(user.title ? { title: user.title } : {}),
      isBot: user.isBot ?? false,
      deleted: user.deleted ?? false,
    };
    this.byId.set(id, added);
    return added;
  }

  get(id: string): SimulatedUser | undefined {
    return this.byId.get(id);
  }

  get list(): SimulatedUser[] {
    return [...this.byId.values()];
  }

  /** Whether conversations.invite can add this id: a known account, not deactivated. */
  invitable(id: string): boolean {
    const user = this.byId.get(id);
    return user !== undefined && !user.deleted;
  }

  /** users.lookupByEmail: addresses compare without regard to case, as mail does. */
  lookupByEmail(args: Args): Answer {
    const email = text(args, 'email');
    if (email === undefined) return missing('email');
    const user = this.findByEmail(email);
    if (!user || user.deleted) return fail('users_not_found');
    return { ok: true, user: this.wire(user) };
  }

  /** users.info */
  info(args: Args): Answer {
    const id = text(args, 'user');
    if (id === undefined) return missing('user');
    const user = this.byId.get(id);
    if (!user) return fail('user_not_found');
    return { ok: true, user: this.wire(user) };
  }

  private findByEmail(email: string): SimulatedUser | undefined {
    const wanted = email.trim().toLowerCase();
    return this.list.find((u) => u.email?.toLowerCase() === wanted);
  }

  /** Slack's user object, with what the bot may read: handle, names, title, e-mail. */
  private wire(user: SimulatedUser): Answer {
    return {
      id: user.id,
      team_id: this.teamId,
      name: user.name,
      deleted: user.deleted,
      real_name: user.realName,
      tz: 'Europe/Berlin',
      tz_label: 'Central European Time',
      tz_offset: 3600,
      profile: {
        real_name: user.realName,
        real_name_normalized: user.realName,
        display_name: user.name,
        display_name_normalized: user.name,
        title: user.title ?? '',
        ...(user.email ? { email: user.email } : {}),
        team: this.teamId,
      },
      is_admin: false,
      is_owner: false,
      is_primary_owner: false,
      is_restricted: false,
      is_ultra_restricted: false,
      is_bot: user.isBot,
      is_app_user: false,
      updated: this.updated,
    };
  }
}
