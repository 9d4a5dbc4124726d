// The Objection.js 3 models of the fixture schema (fixtures.ts), shared by the suites that bind
// them to a scoped instance (`Page.bindKnex(db)`).
import { Model } from 'objection';

export class Tag extends Model {
  static override tableName = 'tags';
  declare id: number;
  declare name: string;
}

export class Page extends Model {
  static override tableName = 'pages';
  declare id: number;
  declare tenant_id: number;
  declare title: string;
  declare comments?: Comment[];
  declare tags?: Tag[];
  static override get relationMappings() {
    return {
      comments: {
        relation: Model.HasManyRelation,
        modelClass: Comment,
        join: { from: 'pages.id', to: 'comments.page_id' },
      },
      tags: {
        relation: Model.ManyToManyRelation,
        modelClass: Tag,
        join: { from: 'pages.id', through: { from: 'page_tags.page_id', to: 'page_tags.tag_id' }, to: 'tags.id' },
      },
    };
  }
}

export class Comment extends Model {
  static override tableName = 'comments';
  declare id: number;
  declare page_id: number | null;
  declare body: string;
  declare page?: Page;
  static override get relationMappings() {
    return {
      page: {
        relation: Model.BelongsToOneRelation,
        modelClass: Page,
        join: { from: 'comments.page_id', to: 'pages.id' },
      },
      replies: {
        relation: Model.HasManyRelation,
        modelClass: Reply,
        join: { from: 'comments.id', to: 'replies.comment_id' },
      },
    };
  }
}

export class Reply extends Model {
  static override tableName = 'replies';
  declare id: number;
  declare comment_id: number;
  declare body: string;
  static override get relationMappings() {
    return {
      comment: {
        relation: Model.BelongsToOneRelation,
        modelClass: Comment,
        join: { from: 'replies.comment_id', to: 'comments.id' },
      },
    };
  }
}
